"""Where the installed C++ core lives, for native builds against it."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT_INCLUDE = _PACKAGE.parent.parent / "cpp" / "include"


def get_include() -> str:
    """The directory holding ``descend/descend.hpp`` (the header-only C++
    core): inside the installed package, or the source tree's cpp/include
    for an editable install."""
    installed = _PACKAGE / "include"
    if (installed / "descend" / "descend.hpp").is_file():
        return str(installed)
    if (_CHECKOUT_INCLUDE / "descend" / "descend.hpp").is_file():
        return str(_CHECKOUT_INCLUDE)
    raise FileNotFoundError(f"descend's C++ headers are not installed next to {_PACKAGE}")


def cmake_dir() -> str:
    """The directory holding ``descendConfig.cmake``: pass it as
    ``-Ddescend_DIR=...`` (or add it to CMAKE_PREFIX_PATH) so that
    ``find_package(descend CONFIG REQUIRED)`` finds the installed core."""
    installed = _PACKAGE / "share" / "cmake" / "descend"
    if (installed / "descendConfig.cmake").is_file():
        return str(installed)
    raise FileNotFoundError(
        f"descendConfig.cmake is not installed under {_PACKAGE} (an editable install has none: "
        "run 'cmake --install' on a build of the repository, or install the wheel)"
    )
