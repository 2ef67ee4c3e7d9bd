"""The compiled core, in the fastest build this CPU runs.

The extension is built once per instruction set (``_core_baseline``:
portable x86-64 or whatever the platform's default is; ``_core_avx2``;
``_core_avx512``). ``_core_baseline`` runs on any CPU, so it is imported
first and asked (``cpu_supports()``: CPUID for the instructions, XGETBV for
the OS saving their registers) which builds this machine runs; this module
then imports the fastest of those that is installed and re-exports its
names; ``ISA`` says which. ``DESCEND_ISA=baseline`` (or ``avx2``,
``avx512``) forces a build, e.g. to compare results. Every build runs the
same arithmetic in the same order (no FMA contraction), so they agree bit
for bit; only the speed differs.
"""

from __future__ import annotations

import importlib
import os

# Every build name, fastest first.
_BUILDS = ("avx512", "avx2", "baseline")


def _import(name: str):
    return importlib.import_module(f"{__package__}._core_{name}")


def _candidates() -> list:
    forced = os.environ.get("DESCEND_ISA", "").strip().lower()
    if forced:
        if forced not in _BUILDS:
            raise ImportError(f"DESCEND_ISA={forced!r}: expected one of {', '.join(_BUILDS)}")
        return [forced]
    try:
        supported = set(_import("baseline").cpu_supports())
    except ImportError as e:
        raise ImportError(f"descend's portable core _core_baseline could not be imported: {e}") from e
    return [name for name in _BUILDS if name in supported]


def _load():
    errors = []
    for name in _candidates():
        try:
            return name, _import(name)
        except ImportError as e:  # that build is absent (DESCEND_DISPATCH=OFF, not x86-64)
            errors.append(f"_core_{name}: {e}")
    raise ImportError("no build of descend's compiled core could be imported: " + "; ".join(errors))


ISA, _module = _load()
globals().update({k: v for k, v in vars(_module).items() if not k.startswith("__")})
# Tracebacks name the public class, not the build it came from.
_module.DivergenceError.__module__ = "descend"
