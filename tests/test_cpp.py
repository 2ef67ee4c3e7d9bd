"""The C++ side: the core's CTest suite, the example app built with
find_package(descend) against a `cmake --install` prefix and against the
installed wheel's cmake_dir(), and the README's C++ snippet."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import descend
from cpp_build import CMAKE, ROOT, build_core_tests, run as _run

EXAMPLE = ROOT / "cpp" / "examples" / "fit_csv"


@pytest.fixture(scope="module")
def core_build() -> Path:
    """The repository's CMake project, configured with the C++ tests and built
    (cpp_build.py; conftest.py starts that build in the background as the
    session starts, so it compiles while the Python tests run)."""
    return build_core_tests()


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


# The example and the README's snippet are configured as the README's
# commands configure them: no build type (what a user who copies them gets;
# a Release build of the same file takes 5x as long to compile).


@pytest.fixture(scope="module")
def install_prefix(core_build, tmp_path_factory) -> Path:
    """`cmake --install` of the core into a fresh prefix."""
    prefix = tmp_path_factory.mktemp("prefix")
    _run(CMAKE, "--install", core_build, "--prefix", prefix)
    return prefix


def test_example_builds_against_an_install_prefix(install_prefix, tmp_path):
    prefix = install_prefix
    assert (prefix / "include" / "descend" / "descend.hpp").is_file()
    build = tmp_path / "example"
    _run(CMAKE, "-S", EXAMPLE, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}")
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
    _run(CMAKE, "-S", EXAMPLE, "-B", build, f"-Ddescend_DIR={cmake_dir}")
    _run(CMAKE, "--build", build)
    _check_example(build, tmp_path)


def test_command_line_prints_the_directories():
    include = _run(sys.executable, "-m", "descend", "--includedir").strip()
    assert include == descend.get_include()
    assert (Path(include) / "descend" / "descend.hpp").is_file()
    cmake_dir = _installed_cmake_dir()
    assert _run(sys.executable, "-m", "descend", "--cmakedir").strip() == cmake_dir
    assert (Path(cmake_dir) / "descendConfigVersion.cmake").is_file()


def test_readme_cpp_snippet_builds_and_runs(install_prefix, tmp_path):
    # The README's C++ block, inside a main() that defines the buffers it names.
    text = (ROOT / "README.md").read_text()
    block = text.split("```cpp\n", 1)[1].split("```", 1)[0]
    body = block.replace("#include <descend/descend.hpp>\n", "")
    (tmp_path / "readme.cpp").write_text(
        "#include <descend/descend.hpp>\n#include <vector>\nint main() {\n"
        "  const long n = 100, d = 3;\n"
        "  std::vector<double> Xv(n * d), yv(n);\n"
        "  for (long i = 0; i < n * d; ++i) Xv[i] = double((i * 7) % 11) / 11.0 - 0.5;\n"
        "  for (long i = 0; i < n; ++i) yv[i] = double(Xv[i * d] > 0);\n"
        "  const double* X = Xv.data();\n  const double* y = yv.data();\n"
        "  std::vector<float> params(4, 0.0f), grads(4, 1.0f);\n"
        + body + "  return fit.report.n_iter > 0 && params[0] < 0.0f ? 0 : 1;\n}\n"
    )
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\nproject(readme CXX)\n"
        "find_package(descend CONFIG REQUIRED)\n"
        "add_executable(readme readme.cpp)\ntarget_link_libraries(readme PRIVATE descend::descend)\n"
    )
    build = tmp_path / "build"
    _run(CMAKE, "-S", tmp_path, "-B", build, f"-DCMAKE_PREFIX_PATH={install_prefix}")
    _run(CMAKE, "--build", build)
    _run(build / "readme")
