"""The benchmark's per-build workload (``python -m descend bench --only WB``):
W1's batch iterations (float64 C and F order, float32) and W2's sgd epoch
under every build of the compiled core this CPU runs, side by side with
the read floor, so that a default pick slower than another build shows.

A process imports one build (``DESCEND_ISA``), so each build is timed in a
child process of its own (``python -m descend._bench_builds``), the
builds in turn, in ``ROUNDS`` alternating rounds: a slow spell of the
machine then falls on every build alike. The default (``DESCEND_ISA``
unset) is timed as a contender of its own, the way a user's import runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict, List

import numpy as np

ROUNDS = 4
# The default build may be this much slower than the fastest one on a row
# before the row says MISS (DESIGN 6: the dispatcher picks the fastest).
SLACK = 1.05
ITERATIONS = 5  # batch iterations per timed fit (W1's per-iteration time)


def _child(n: int, n_sgd: int, repeats: int) -> Dict[str, List[float]]:
    """Per-iteration (W1) and per-epoch (W2) times under the build this process imported."""
    from . import _core
    from .bench import regression_data, timed
    from ._fit import fit

    def batch(X, y):
        return lambda: fit(X, y, learning_rate=1e-6, max_iter=ITERATIONS, tol=None, check_finite=False,
                           precompute=False)

    out: Dict[str, List[float]] = {}
    X, y = regression_data(n, 64, np.float64)
    out["floor f64"] = timed(lambda: _core.probe_read(X, 0), repeats)
    out["W1 f64 C"] = [t / ITERATIONS for t in timed(batch(X, y), repeats)]
    XF = np.asfortranarray(X)
    del X
    out["W1 f64 F"] = [t / ITERATIONS for t in timed(batch(XF, y), repeats)]
    del XF
    X32, y32 = regression_data(n, 64, np.float32)
    out["floor f32"] = timed(lambda: _core.probe_read(X32, 0), repeats)
    out["W1 f32 C"] = [t / ITERATIONS for t in timed(batch(X32, y32), repeats)]
    del X32
    Xs, ys = regression_data(n_sgd, 64, np.float64)
    out["W2 sgd epoch f64"] = timed(lambda: fit(Xs, ys, method="sgd", learning_rate=1e-3, max_iter=1, tol=None,
                                                seed=0), repeats)
    return out


# The rows of the table: (what is timed, its floor, its unit).
ROWS = [
    ("W1 f64 C", "floor f64", "per iteration"),
    ("W1 f64 F", "floor f64", "per iteration"),
    ("W1 f32 C", "floor f32", "per iteration"),
    ("W2 sgd epoch f64", None, "per epoch"),
]


def _run_child(isa: str, n: int, n_sgd: int, repeats: int) -> Dict[str, List[float]]:
    env = {k: v for k, v in os.environ.items() if k != "DESCEND_ISA"}
    if isa != "default":
        env["DESCEND_ISA"] = isa
    done = subprocess.run([sys.executable, "-m", "descend._bench_builds", str(n), str(n_sgd), str(repeats)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {isa} build's benchmark child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_build(cfg) -> list:
    """Rows for bench.table: each build's median per row, the default first,
    and on the default's row whether its build is within SLACK of the
    fastest other one."""
    from . import _core
    from .bench import Row

    n, n_sgd = cfg.size(2_000_000, 100_000), cfg.size(200_000, 20_000)
    builds = ["default", *_core.cpu_supports()]
    times: Dict[str, Dict[str, List[float]]] = {b: {} for b in builds}
    for _ in range(ROUNDS if not cfg.quick else 1):
        for build in builds:
            for key, values in _run_child(build, n, n_sgd, cfg.repeats).items():
                times[build].setdefault(key, []).extend(values)
    rows = []
    for key, floor, unit in ROWS:
        name = f"WB {key} {n if key.startswith('W1') else n_sgd}x64 under each build"
        medians = {b: float(np.median(times[b][key])) for b in builds[1:]}
        # The default runs the build import picks: its runs and that build's
        # forced runs time the same code, so the verdict pools them (twice
        # the samples against the VM's spells).
        picked = float(np.median(times["default"][key] + times[_core.ISA][key]))
        others = {b: m for b, m in medians.items() if b != _core.ISA}
        fastest = min(others, key=others.get) if others else _core.ISA
        ratio = picked / others[fastest] if others else 1.0
        verdict = "met" if ratio <= SLACK else "MISS"
        rows.append(Row(name, f"descend default ({_core.ISA})", unit, times["default"][key],
                        note=f"{_core.ISA}'s runs pooled: {ratio:.2f}x the fastest other build ({fastest}): "
                             f"{verdict}"))
        rows.extend(Row(name, f"descend DESCEND_ISA={b}", unit, times[b][key]) for b in builds[1:])
        if floor:
            rows.append(Row(name, "memory floor (read X once)", unit, times["default"][floor]))
    return rows


if __name__ == "__main__":
    n, n_sgd, repeats = (int(a) for a in sys.argv[1:4])
    print(json.dumps(_child(n, n_sgd, repeats)))
