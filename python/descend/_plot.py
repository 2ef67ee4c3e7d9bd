"""descend.plot_loss_curve and descend.save_loss_curve: the objective per
iteration/epoch of a fit, with matplotlib (imported by these functions only,
never at ``import descend``)."""

from __future__ import annotations

import importlib
import os
import re
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

import numpy as np

from ._atomic import replace_atomically

if TYPE_CHECKING:  # pragma: no cover - for the annotations only
    from matplotlib.axes import Axes

_NEEDS = "plotting needs matplotlib: pip install 'descend[cli]'"

# status -> a short form of FitResult.message.
_REASONS = {
    "tol": "converged (tol)",
    "gtol": "converged (gtol)",
    "max_iter": "stopped at max_iter",
    "callback": "stopped by the callback",
}

# Where plot_loss_curve keeps a curve's stop reason (on its Line2D), for
# the title of an Axes that holds several.
_REASON_ATTR = "_descend_stop_reason"


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(_NEEDS) from error
    return matplotlib


def _curve(result: Any) -> Tuple[np.ndarray, str, str]:
    """(history, unit, stop reason) of a FitResult or a fitted GDRegressor/GDClassifier."""
    if hasattr(result, "loss_history") and hasattr(result, "status"):  # a FitResult
        history = np.asarray(result.loss_history, dtype=np.float64)
        message = str(getattr(result, "message", ""))
        found = re.search(r"\b(iteration|epoch|step)s?\b", message)
        unit = found.group(1) if found else "iteration"
        reason = _REASONS.get(str(result.status), str(result.status))
        retries = re.search(r"\(after (\d+) retr", message)
        n = len(history)
        reason += f" after {n} {unit}{'' if n == 1 else 's'}"
        if retries:
            reason += f", {retries.group(1)} {'retry' if retries.group(1) == '1' else 'retries'}"
        return history, unit, reason
    if hasattr(result, "get_params") and hasattr(result, "max_iter"):  # a GDRegressor/GDClassifier
        if not hasattr(result, "loss_curve_"):
            not_fitted = importlib.import_module("sklearn.exceptions").NotFittedError
            raise not_fitted(f"this {type(result).__name__} is not fitted yet: call fit before plotting it")
        history = np.asarray(result.loss_curve_, dtype=np.float64)
        unit = "iteration" if getattr(result, "method", "batch") == "batch" else "epoch"
        n = len(history)
        state = "converged" if getattr(result, "converged_", False) else "not converged"
        return history, unit, f"{type(result).__name__}: {state} after {n} {unit}{'' if n == 1 else 's'}"
    if hasattr(result, "outcome") and hasattr(result, "predict"):  # a descend.Model
        raise TypeError("a descend.Model does not keep the loss history (its outcome has the final objective "
                        "only): plot the FitResult or the estimator it was made from")
    raise TypeError("plot_loss_curve takes a descend.FitResult or a fitted descend.GDRegressor/GDClassifier, "
                    f"got {type(result).__name__}")


def _set_y_scale(ax: "Axes") -> None:
    """Log scale over every curve on ax; symlog when one has a value <= 0
    (its linear range down to the smallest non-zero magnitude)."""
    values = [np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()]
    values = [v[np.isfinite(v)] for v in values]
    every = np.concatenate(values) if values else np.empty(0)
    if every.size == 0 or np.all(every > 0):
        ax.set_yscale("log")
        return
    nonzero = np.abs(every[every != 0])
    ax.set_yscale("symlog", linthresh=float(nonzero.min()) if nonzero.size else 1.0)


def _unlabelled(line: Any) -> bool:
    """Whether a line has no legend entry (matplotlib's "_child0" labels)."""
    return str(line.get_label()).startswith("_")


def plot_loss_curve(result: Any, ax: Optional["Axes"] = None, *, label: Optional[str] = None,
                    title: Optional[str] = None) -> "Axes":
    """Plot the objective per iteration/epoch of a fit on a log scale.

    Point ``k`` (1-based) is ``loss_history[k - 1]``, as the callback's
    ``IterationState(iteration=k)`` and the progress bar count it: for
    method="batch" the objective at the parameters iteration k started from
    (after k - 1 updates), for sgd/minibatch the mean objective during
    epoch k.

    Parameters
    ----------
    result : descend.FitResult, or a fitted descend.GDRegressor/GDClassifier
        The fit to plot (an estimator's ``loss_curve_``; the x axis counts
        iterations for method="batch", else epochs).
    ax : matplotlib Axes, optional
        Where to draw; default: ``matplotlib.pyplot.gca()``. Pass the same
        Axes again to compare several fits (one line each).
    label : str, optional
        The line's legend entry; a legend is drawn when given.
    title : str, optional
        The Axes' title. Default: the stop reason (a short form of
        ``result.message``, e.g. "converged (tol) after 183 iterations");
        with several curves on the Axes, one line per curve, prefixed by
        its label.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on. Its y axis is logarithmic, or symlog when a
        curve on it has a value <= 0 (a log scale cannot show those).

    Raises
    ------
    ImportError
        Without matplotlib.
    TypeError
        For anything but a FitResult or a GDRegressor/GDClassifier.
    """
    history, unit, reason = _curve(result)
    _matplotlib()
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    x = np.arange(1, len(history) + 1)
    style: dict[str, Any] = {} if label is None else {"label": label}
    (line,) = ax.plot(x, history, **style)
    setattr(line, _REASON_ATTR, reason)
    _set_y_scale(ax)
    ax.set_xlabel(unit)
    ax.set_ylabel("objective")
    if title is None:
        curves = [ln for ln in ax.get_lines() if hasattr(ln, _REASON_ATTR)]
        if len(curves) == 1:
            title = reason
        else:
            title = "\n".join(getattr(ln, _REASON_ATTR) if _unlabelled(ln)
                              else f"{ln.get_label()}: {getattr(ln, _REASON_ATTR)}" for ln in curves)
    ax.set_title(title)
    if not all(_unlabelled(ln) for ln in ax.get_lines()):
        ax.legend()
    return ax


def save_loss_curve(result: Any, path: Union[str, "os.PathLike[str]"], *, dpi: float = 100,
                    title: Optional[str] = None, figsize: Tuple[float, float] = (6.4, 4.8)) -> None:
    """Write :func:`plot_loss_curve`'s plot of ``result`` to ``path`` as a PNG.

    The figure is drawn with the Agg backend on its own
    ``matplotlib.figure.Figure``: pyplot's current figure and backend are
    left as they are, and nothing stays open afterwards.

    Parameters
    ----------
    result : descend.FitResult, or a fitted descend.GDRegressor/GDClassifier
    path : str or path-like
        The PNG file to write (PNG whatever its suffix).
    dpi : float
        Pixels per inch: the image is ``figsize[0] * dpi`` by
        ``figsize[1] * dpi`` pixels.
    title : str, optional
        As in :func:`plot_loss_curve` (default: the stop reason).
    figsize : (float, float)
        Width and height in inches.

    Raises
    ------
    ImportError
        Without matplotlib.
    """
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    try:
        ax = fig.add_subplot()
        plot_loss_curve(result, ax, title=title)
        fig.tight_layout()
        with replace_atomically(path, "wb") as f:  # no half-written PNG over an old one
            fig.savefig(f, dpi=dpi, format="png")
    finally:
        fig.clear()
