"""The installed package is typed: a user's script passes mypy --strict
(py.typed and descend/_core.pyi ship with the package)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")  # a test dependency; importorskip only names it

SCRIPT = Path(__file__).parent / "typing" / "user_script.py"


def test_user_script_passes_mypy_strict(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path), str(SCRIPT)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_user_script_runs():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == float(done.stdout)  # a number, not NaN
