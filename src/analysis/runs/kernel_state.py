"""Runs inside a warm kernel (see analysis.kernel): put it back into a fresh kernel's state.

Kept apart from analysis.kernel so the kernel imports nothing heavy to use it.
"""

from __future__ import annotations

import sys
import warnings

_FILTERS: list = []


def snapshot() -> None:
    """Once after the kernel starts: remember the warning filters a fresh kernel has."""
    global _FILTERS
    _FILTERS = list(warnings.filters)


def reset() -> None:
    """Before each notebook: namespace, output cache, execution count, warnings, figures."""
    from IPython import get_ipython

    get_ipython().reset(new_session=True)  # namespace, output cache, execution count 1
    warnings.filters[:] = _FILTERS  # type: ignore[index]
    warnings._filters_mutated()  # type: ignore[attr-defined]  # "shown once" registries are void: warnings show again
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
