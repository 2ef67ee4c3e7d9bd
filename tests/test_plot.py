"""descend.plot_loss_curve and descend.save_loss_curve (descend._plot).

The PNG is read back and measured (size, not blank); the Axes carry one
line per fit with the loss history as its y data, a log (or, with values
<= 0, symlog) y axis, the stop reason in the title and a legend for labels.
Everything runs on the Agg backend; save_loss_curve leaves pyplot alone.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import descend

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def data(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def axes():
    return Figure().add_subplot()


def synthetic(history, status="max_iter", message=None):
    history = np.asarray(history, dtype=np.float64)
    n = len(history)
    message = message or f"stopped after max_iter={n} iterations without meeting the tolerance; raise max_iter"
    return descend.FitResult(coef=np.zeros(2), intercept=0.0, n_iter=n, converged=status in ("tol", "gtol"),
                             status=status, message=message, loss_history=history, grad_norm=1.0,
                             learning_rate=0.1, learning_rate_history=np.full(n, 0.1))


@pytest.fixture(scope="module")
def tol_fit():
    X, y = data()
    res = descend.fit(X, y, learning_rate=0.05, max_iter=1000, tol=1e-6)
    assert res.status == "tol"
    return res


# ---------------------------------------------------------------- the PNG


@pytest.mark.parametrize("dpi, figsize", [(100, (6.4, 4.8)), (50, (4.0, 3.0))])
def test_save_loss_curve_writes_a_png_of_the_figures_size(tol_fit, tmp_path, dpi, figsize):
    import matplotlib.pyplot as plt

    figures, backend = plt.get_fignums(), matplotlib.get_backend()
    path = tmp_path / "loss.png"
    assert descend.save_loss_curve(tol_fit, path, dpi=dpi, figsize=figsize) is None
    assert plt.get_fignums() == figures and matplotlib.get_backend() == backend  # pyplot untouched
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (round(figsize[1] * dpi), round(figsize[0] * dpi))
    rgb = image[..., :3]
    colors = np.unique((rgb * 255).round().astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colors) > 20  # text, axes and the curve, anti-aliased
    # The curve: bluish pixels, of matplotlib's first line colour (C0, #1f77b4)
    # or its anti-aliased blends with the white background.
    assert np.sum(rgb[..., 2] - rgb[..., 0] > 0.25) > 0.5 * image.shape[1]
    assert np.mean(np.all(rgb > 0.98, axis=-1)) < 0.97  # not all white


def test_save_loss_curve_takes_a_str_path_and_a_title(tol_fit, tmp_path):
    path = str(tmp_path / "curve.out")  # PNG whatever the suffix
    descend.save_loss_curve(tol_fit, path, title="my fit")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- the Axes


def test_plot_loss_curve_draws_the_history_on_a_log_scale(tol_fit):
    ax = descend.plot_loss_curve(tol_fit, axes())
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), tol_fit.loss_history)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, tol_fit.n_iter + 1))  # 1-based
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "iteration" and ax.get_ylabel() == "objective"
    assert ax.get_title() == f"converged (tol) after {tol_fit.n_iter} iterations"
    assert ax.get_legend() is None


@pytest.mark.parametrize("status, words", [("max_iter", "stopped at max_iter"), ("callback", "callback"),
                                            ("gtol", "converged (gtol)")])
def test_the_title_names_the_stop_reason(status, words):
    X, y = data()
    kw = dict(max_iter=5, tol=None, learning_rate=0.05)
    if status == "callback":
        kw["callback"] = lambda s: s.iteration == 3
    if status == "gtol":
        kw.update(max_iter=5000, gtol=1e-3)
    res = descend.fit(X, y, method="sgd" if status == "callback" else "batch", **kw)
    assert res.status == status
    ax = descend.plot_loss_curve(res, axes())
    assert words in ax.get_title() and str(res.n_iter) in ax.get_title()
    assert ax.get_xlabel() == ("epoch" if status == "callback" else "iteration")


def test_the_title_counts_retries():
    X, y = data()
    res = descend.fit(X, y, learning_rate=30.0, on_divergence="retry", max_iter=50, tol=None)
    retries = int(re.search(r"after (\d+) retr", res.message).group(1))
    assert ax_title(res).endswith(", 1 retry" if retries == 1 else f", {retries} retries")


def ax_title(res, **kw):
    return descend.plot_loss_curve(res, axes(), **kw).get_title()


def test_an_explicit_title_wins(tol_fit):
    assert ax_title(tol_fit, title="gd on squared loss") == "gd on squared loss"


def test_two_results_on_one_axes_give_two_lines_and_a_legend():
    X, y = data()
    gd = descend.fit(X, y, method="minibatch", learning_rate=0.01, max_iter=20, tol=None, seed=1)
    adam = descend.fit(X, y, method="minibatch", optimizer="adam", learning_rate=0.01, max_iter=20, tol=None, seed=1)
    ax = descend.plot_loss_curve(gd, axes(), label="gd")
    assert descend.plot_loss_curve(adam, ax, label="adam") is ax
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[1].get_ydata(), adam.loss_history)
    legend = ax.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == ["gd", "adam"]
    assert ax.get_title() == "gd: stopped at max_iter after 20 epochs\nadam: stopped at max_iter after 20 epochs"
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "log"


@pytest.mark.parametrize("history", [[3.0, 1.0, 0.0], [1.0, -0.5, 0.25], [0.0, 0.0], [1.0, np.nan, 0.5], []])
def test_values_at_or_below_zero_do_not_crash(history):
    ax = descend.plot_loss_curve(synthetic(history), axes())
    ax.figure.canvas.draw()  # FigureCanvasBase: Figure() renders with Agg
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), np.asarray(history, dtype=np.float64))
    finite = np.asarray(history)[np.isfinite(history)]
    assert ax.get_yscale() == ("log" if np.all(finite > 0) else "symlog")


def test_a_curve_with_a_zero_switches_the_shared_axes_to_symlog():
    ax = descend.plot_loss_curve(synthetic([4.0, 2.0, 1.0]), axes(), label="a")
    assert ax.get_yscale() == "log"
    descend.plot_loss_curve(synthetic([4.0, 1.0, 0.0]), ax, label="b")
    assert ax.get_yscale() == "symlog"
    ax.figure.canvas.draw()


def test_save_loss_curve_with_a_zero_in_the_history(tmp_path):
    path = tmp_path / "zero.png"
    descend.save_loss_curve(synthetic([1.0, 0.1, 0.0]), path)
    assert matplotlib.image.imread(path).shape[:2] == (480, 640)


def test_without_ax_pyplots_current_axes_is_used(tol_fit):
    import matplotlib.pyplot as plt

    try:
        fig = plt.figure()
        assert descend.plot_loss_curve(tol_fit) is fig.gca()
    finally:
        plt.close("all")


# ---------------------------------------------------------------- estimators and others


def test_a_fitted_estimator_plots_its_loss_curve(tmp_path):
    pytest.importorskip("sklearn")
    X, y = data()
    est = descend.GDRegressor(method="sgd", learning_rate=0.01, max_iter=8, tol=None, random_state=0).fit(X, y)
    ax = descend.plot_loss_curve(est, axes())
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), est.loss_curve_)
    assert ax.get_xlabel() == "epoch"
    assert ax.get_title() == "GDRegressor: not converged after 8 epochs"
    descend.save_loss_curve(est, tmp_path / "est.png")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        descend.plot_loss_curve(descend.GDRegressor(), axes())


def test_anything_else_is_a_type_error():
    with pytest.raises(TypeError, match="FitResult"):
        descend.plot_loss_curve(np.ones(3), axes())


def test_without_matplotlib_an_import_error_names_the_extra(tol_fit, monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'descend\[cli\]'"):
        descend.plot_loss_curve(tol_fit)
    with pytest.raises(ImportError, match="plotting needs matplotlib"):
        descend.save_loss_curve(tol_fit, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
