"""The instruction-set builds of the core (descend/_core.py) agree bit for bit.

Each build runs the same arithmetic in the same order (fixed lanes, no FMA
contraction), so forcing any build this CPU supports with DESCEND_ISA must
give identical fits, gradients and optimizer steps.
"""

import os
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


def _run(isa: str) -> str:
    env = {**os.environ, "DESCEND_ISA": isa}
    out = subprocess.run([sys.executable, "-c", SCRIPT, isa], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _runnable() -> list:
    builds = []
    for isa in _core._BUILDS:
        if isa in _core._candidates() or isa == "baseline":
            try:
                __import__(f"descend._core_{isa}")
            except ImportError:
                continue
            builds.append(isa)
    return builds


def test_default_build_is_the_fastest_supported():
    assert _core.ISA == _runnable()[0] or os.environ.get("DESCEND_ISA")


def test_every_supported_build_gives_the_same_bits():
    builds = _runnable()
    digests = {isa: _run(isa) for isa in builds}
    assert len(set(digests.values())) == 1, digests


def test_unknown_forced_build_is_an_import_error():
    env = {**os.environ, "DESCEND_ISA": "sse9"}
    out = subprocess.run([sys.executable, "-c", "import descend"], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "DESCEND_ISA" in out.stderr


@pytest.mark.parametrize("isa", ["baseline"])
def test_baseline_build_is_always_present(isa):
    assert isa in _runnable()
