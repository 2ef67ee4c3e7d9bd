"""The main job: python -m descend demo."""

import re
import subprocess
import sys


def test_demo_runs_and_reports_each_fit():
    out = subprocess.run(
        [sys.executable, "-m", "descend", "demo"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    # The textbook run at lr 0.01 for 1000 iterations has not converged; the long run has.
    assert "max_iter 1000: 1000 iterations" in out
    assert "NOT converged yet (max_iter)" in out
    assert "converged (gtol)" in out
    assert "Synthetic regression" in out and "Logistic regression" in out
    assert out.count(" ms") >= 5
    # The converged textbook theta printed beside np.linalg.lstsq's agrees with it.
    line = next(l for l in out.splitlines() if "np.linalg.lstsq" in l)
    fitted, exact = re.findall(r"\[([^\]]*)\]", line)
    assert [float(v) for v in fitted.split(",")] == [float(v) for v in exact.split(",")]


def test_version_flag():
    import descend

    out = subprocess.run([sys.executable, "-m", "descend", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == descend.__version__
