"""The instruction-set builds of the core (descend/_core.py) agree bit for bit.

Each build runs the same arithmetic in the same order (fixed lanes, no FMA
contraction), so forcing any build this CPU supports with DESCEND_ISA must
give identical fits, gradients and optimizer steps. Which builds the CPU
supports comes from _core_baseline.cpu_supports(), checked here against
Linux's CPU flags and by importing each build it lists.
"""

import importlib
import importlib.util
import os
import platform
import subprocess
import sys

import pytest

from descend import _core

SCRIPT = r"""
import hashlib, sys
import numpy as np
import descend
from descend import _core

assert _core.ISA == sys.argv[1], (_core.ISA, sys.argv[1])
rng = np.random.default_rng(0)
h = hashlib.sha256()
for dtype in (np.float64, np.float32):
    for order in "CF":
        X = np.asarray(rng.standard_normal((3000, 37)), dtype, order=order)
        labels = (rng.random(3000) < 0.5).astype(dtype)
        classes = rng.integers(0, 4, 3000).astype(dtype)
        for loss, y in (("squared", X[:, 0] * 2), ("logistic", labels), ("softmax", classes), ("huber", labels)):
            for method in ("batch", "minibatch", "sgd"):
                r = descend.fit(X, y, loss=loss, method=method, optimizer="adam", learning_rate=0.01, max_iter=3,
                                tol=None, fit_intercept=True, l2=0.01)
                h.update(np.asarray(r.coef).tobytes() + r.loss_history.tobytes())
        h.update(descend.loss_grad(X, labels, np.ones(37, dtype), 0.5, loss="logistic")[1].tobytes())
p = np.ones(100_001, np.float32)
descend.optim.AdamW(p).step(np.arange(100_001, dtype=np.float32))
h.update(p.tobytes())
print(h.hexdigest())
"""


def _run(isa: str, script: str = SCRIPT) -> str:
    env = {**os.environ, "DESCEND_ISA": isa}
    out = subprocess.run([sys.executable, "-c", script, isa], env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"DESCEND_ISA={isa}: {out.stderr}"
    return out.stdout.strip()


def _supported() -> tuple:
    return importlib.import_module("descend._core_baseline").cpu_supports()


def _installed(isa: str) -> bool:
    return importlib.util.find_spec(f"descend._core_{isa}") is not None


def _runnable() -> list:
    """Builds this machine runs that are installed, fastest first."""
    # Only supported builds are imported: loading one the CPU lacks may
    # execute its instructions and kill the process.
    return [isa for isa in _supported() if _installed(isa)]


def test_cpu_supports_lists_baseline_and_build_names_fastest_first():
    supported = _supported()
    assert supported[-1] == "baseline"
    assert list(supported) == [isa for isa in _core._BUILDS if isa in supported]
    # The AVX-512 build is also compiled with AVX2 and FMA.
    assert "avx512" not in supported or "avx2" in supported
    # The loaded build answers the same question the same way.
    assert _core.cpu_supports() == supported


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"),
                    reason="reads the kernel's x86 CPU flags from /proc/cpuinfo")
def test_cpu_supports_agrees_with_the_kernel():
    # Linux clears these flags where it does not enable the registers'
    # XSAVE state, so they answer both of cpu_supports' questions: the CPU
    # has the instructions, and the OS saves their registers.
    with open("/proc/cpuinfo") as f:
        flags = set(next(line for line in f if line.startswith("flags")).split(":", 1)[1].split())
    avx2 = {"avx2", "fma"} <= flags
    avx512 = avx2 and {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags
    expected = ("avx512", "avx2", "baseline") if avx512 else ("avx2", "baseline") if avx2 else ("baseline",)
    assert _supported() == expected


@pytest.mark.parametrize("isa", ["avx512", "avx2", "baseline"])
def test_every_supported_build_imports_and_runs_when_forced(isa):
    if isa not in _supported():
        pytest.skip(f"this CPU/OS does not run the {isa} build (cpu_supports() = {_supported()})")
    if not _installed(isa):
        pytest.skip(f"the {isa} build is not installed (a DESCEND_DISPATCH=OFF or DESCEND_NATIVE=ON install builds the "
                    "baseline only; DESCEND_AVX512=OFF leaves out the AVX-512 build)")
    script = (
        "import sys, numpy as np, descend\n"
        "from descend import _core\n"
        "assert _core.ISA == sys.argv[1], (_core.ISA, sys.argv[1])\n"
        "r = descend.fit(np.eye(3), np.arange(3.0), max_iter=5)\n"
        "assert np.all(np.isfinite(r.coef))\n"
        "print(_core.ISA)\n"
    )
    assert _run(isa, script) == isa


def test_default_build_is_the_fastest_supported():
    if os.environ.get("DESCEND_ISA"):
        pytest.skip("DESCEND_ISA forces the build")
    assert _core.ISA == _runnable()[0]


def test_every_supported_build_gives_the_same_bits():
    builds = _runnable()
    if len(builds) < 2:
        pytest.skip(
            f"only one build is importable here ({builds[0]}; this CPU/OS runs {', '.join(_supported())}): "
            "nothing to compare (a DESCEND_DISPATCH=OFF or DESCEND_NATIVE=ON install builds the baseline only)"
        )
    digests = {isa: _run(isa) for isa in builds}
    assert len(set(digests.values())) == 1, digests


def test_unknown_forced_build_is_an_import_error():
    env = {**os.environ, "DESCEND_ISA": "sse9"}
    out = subprocess.run([sys.executable, "-c", "import descend"], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "DESCEND_ISA" in out.stderr


def test_baseline_build_is_always_installed():
    assert _installed("baseline") and "baseline" in _runnable()
