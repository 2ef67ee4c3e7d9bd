"""The compiled core, in the fastest build this CPU runs.

The extension is built once per instruction set (``_core_baseline``:
portable x86-64 or whatever the platform's default is; ``_core_avx2``;
``_core_avx512``). This module imports the best one whose instructions the
CPU (and OS) support, as NumPy's own runtime detection reports them, and
re-exports its names; ``ISA`` says which. ``DESCEND_ISA=baseline`` (or
``avx2``, ``avx512``) forces a build, e.g. to compare results. Every build
runs the same arithmetic in the same order (no FMA contraction), so they
agree bit for bit; only the speed differs.
"""

from __future__ import annotations

import importlib
import os

# Build name -> the CPU features (NumPy's names) it needs.
_BUILDS = {
    "avx512": ("AVX512F", "AVX512CD", "AVX512BW", "AVX512DQ", "AVX512VL", "AVX2", "FMA3"),
    "avx2": ("AVX2", "FMA3"),
    "baseline": (),
}


def _cpu_features() -> dict:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return {}
    return dict(__cpu_features__)


def _candidates() -> list:
    forced = os.environ.get("DESCEND_ISA", "").strip().lower()
    if forced:
        if forced not in _BUILDS:
            raise ImportError(f"DESCEND_ISA={forced!r}: expected one of {', '.join(_BUILDS)}")
        return [forced]
    features = _cpu_features()
    return [name for name, needs in _BUILDS.items() if all(features.get(f, False) for f in needs)]


def _load():
    errors = []
    for name in _candidates():
        try:
            return name, importlib.import_module(f"{__package__}._core_{name}")
        except ImportError as e:  # that build is absent (e.g. not x86-64)
            errors.append(f"_core_{name}: {e}")
    raise ImportError("no build of descend's compiled core could be imported: " + "; ".join(errors))


ISA, _module = _load()
globals().update({k: v for k, v in vars(_module).items() if not k.startswith("__")})
# Tracebacks name the public class, not the build it came from.
_module.DivergenceError.__module__ = "descend"
