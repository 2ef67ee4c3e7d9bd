"""The C++ tests' build tree (tests/test_cpp.py), shared by the pytest
processes that ask for it, and startable in the background.

The tree lives in the checkout's build/ (ignored by git), one per CMake
version, and is kept: ``cmake --build`` recompiles what changed, so a
second run of the suite does not compile the unchanged tests again (about
3 minutes on 2 cores). A lock file lets one process configure and build
while the others (pytest-xdist workers, the background build conftest.py
starts) wait, then find it built.

    python tests/cpp_build.py     # the build alone, as conftest.py starts it
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# cmake is in the test extra, so the C++ tests always run.
CMAKE = shutil.which("cmake") or "cmake"


def run(*args, cwd: Path | None = None) -> str:
    """Runs a command; its output, or an AssertionError with both streams."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_dir() -> Path:
    return ROOT / "build" / f"cpp-tests-cmake-{run(CMAKE, '--version').split()[2]}"


def _lock(file) -> None:
    """An exclusive lock on `file`, held until it is closed (POSIX; elsewhere
    nothing: the suite then builds in one process at a time anyway)."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX)


def build_core_tests() -> Path:
    """Configures (with the C++ tests) and builds the tree; returns it."""
    build = build_dir()
    build.mkdir(parents=True, exist_ok=True)
    with open(build.parent / f"{build.name}.lock", "w") as lock:
        _lock(lock)
        run(CMAKE, "-S", ROOT, "-B", build, "-DDESCEND_BUILD_TESTS=ON", "-DCMAKE_BUILD_TYPE=Release")
        run(CMAKE, "--build", build, "--parallel", "2")
    return build


def start_in_background() -> subprocess.Popen:
    """build_core_tests() in a child process (its output in the build tree's log)."""
    build = build_dir()
    build.parent.mkdir(parents=True, exist_ok=True)
    log = open(build.parent / f"{build.name}.log", "w")
    return subprocess.Popen([sys.executable, __file__], stdout=log, stderr=subprocess.STDOUT)


if __name__ == "__main__":
    build_core_tests()
