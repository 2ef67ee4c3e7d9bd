"""The C++ side: the core's CTest suite, and the example app built with
find_package(descend) against a `cmake --install` prefix and against the
installed wheel's cmake_dir()."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import descend

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "cpp" / "examples" / "fit_csv"
CMAKE = shutil.which("cmake")

pytestmark = pytest.mark.skipif(CMAKE is None, reason="needs cmake on PATH (a build requirement)")


def _run(*args: str | os.PathLike, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def core_build(tmp_path_factory) -> Path:
    """The repository's CMake project, configured with the C++ tests and built."""
    build = tmp_path_factory.mktemp("core-build")
    _run(CMAKE, "-S", ROOT, "-B", build, "-DDESCEND_BUILD_TESTS=ON", "-DCMAKE_BUILD_TYPE=Release")
    _run(CMAKE, "--build", build, "--parallel", "2")
    return build


def test_ctest_suite_passes(core_build):
    out = _run("ctest", "--test-dir", core_build, "--output-on-failure")
    assert "100% tests passed" in out


def _csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + 0.1 * rng.standard_normal(200)
    rows = ["x0,x1,x2,target"] + [",".join(repr(float(v)) for v in (*x, t)) for x, t in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    return X, y


def _check_example(build: Path, tmp_path: Path) -> None:
    exe = build / ("fit_csv.exe" if sys.platform == "win32" else "fit_csv")
    X, y = _csv(tmp_path / "data.csv")
    out = _run(exe, tmp_path / "data.csv", "--target", "target", "--max-iter", "5000")
    values = dict(line.split() for line in out.splitlines()[1:])
    ref = descend.fit(X, y, learning_rate="auto", fit_intercept=True, max_iter=5000)
    got = np.array([float(values[f"x{j}"]) for j in range(3)])
    np.testing.assert_allclose(got, ref.coef, rtol=1e-9)
    np.testing.assert_allclose(float(values["intercept"]), ref.intercept, rtol=1e-9)


def test_example_builds_against_an_install_prefix(core_build, tmp_path):
    prefix = tmp_path / "prefix"
    _run(CMAKE, "--install", core_build, "--prefix", prefix)
    assert (prefix / "include" / "descend" / "descend.hpp").is_file()
    build = tmp_path / "example"
    _run(CMAKE, "-S", EXAMPLE, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release")
    _run(CMAKE, "--build", build)
    _check_example(build, tmp_path)


def _installed_cmake_dir() -> str:
    try:
        return descend.cmake_dir()
    except FileNotFoundError:
        pytest.skip("descend is installed in editable mode: no installed CMake package (pip install . has one)")


def test_example_builds_against_the_installed_package(tmp_path):
    cmake_dir = _installed_cmake_dir()
    build = tmp_path / "example"
    _run(CMAKE, "-S", EXAMPLE, "-B", build, f"-Ddescend_DIR={cmake_dir}", "-DCMAKE_BUILD_TYPE=Release")
    _run(CMAKE, "--build", build)
    _check_example(build, tmp_path)


def test_command_line_prints_the_directories():
    include = _run(sys.executable, "-m", "descend", "--includedir").strip()
    assert include == descend.get_include()
    assert (Path(include) / "descend" / "descend.hpp").is_file()
    cmake_dir = _installed_cmake_dir()
    assert _run(sys.executable, "-m", "descend", "--cmakedir").strip() == cmake_dir
    assert (Path(cmake_dir) / "descendConfigVersion.cmake").is_file()
