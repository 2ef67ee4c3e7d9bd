"""descend.fit(..., progress=True): the progress bar on stderr (descend._progress).

- it is drawn on stderr, never on stdout, with tqdm and with the plain
  fallback, and nothing is drawn without it;
- the display is touched at most ~10 times a second (0.5 s apart for plain
  lines), counted with a fake clock and over a real fit;
- the final count is n_iter, also when the last check (a tol stop) makes no
  observer call, and the bar is closed after a DivergenceError or a
  KeyboardInterrupt;
- the result is bitwise the same as without it;
- the estimators' verbose=True shows it;
- ``import descend`` imports none of tqdm, matplotlib, pandas, scipy.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import numpy as np
import pytest

import descend
from descend import _progress
from descend._progress import ProgressBar

from conftest import METHODS, seed_of

tqdm = pytest.importorskip("tqdm")


class FakeClock:
    """A clock that moves `step` seconds every time it is read."""

    def __init__(self, step: float):
        self.step = step
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def data(n=200, d=5, seed=0, loss="squared"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    p = X @ rng.standard_normal(d)
    y = (p > 0).astype(np.float64) if loss == "logistic" else p + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.fixture(params=["tqdm", "plain"])
def kind(request, monkeypatch):
    """Each test twice: with tqdm, and with tqdm not importable (the plain lines)."""
    if request.param == "plain":
        monkeypatch.setitem(sys.modules, "tqdm", None)  # `from tqdm import tqdm` raises ImportError
    return request.param


@pytest.fixture
def shows(monkeypatch):
    """Every display a ProgressBar draws: (the bar, its clock's time, final)."""
    seen = []
    draw = ProgressBar._show

    def counted(self, now, final):
        seen.append((self, now, final))
        draw(self, now, final)

    monkeypatch.setattr(ProgressBar, "_show", counted)
    return seen


def final_count(err: str, kind: str) -> tuple[int, int]:
    """(count, total) of the last display in stderr's text."""
    if kind == "plain":
        last = err.strip().splitlines()[-1]
        assert last.startswith("descend: ")
        found = re.search(r"(\d+)/(\d+)", last)
    else:
        found = list(re.finditer(r"(\d+)/(\d+) \[", err))[-1]
    return int(found.group(1)), int(found.group(2))


# ---------------------------------------------------------------- where it draws


@pytest.mark.parametrize("method, unit", [("batch", "iteration"), ("sgd", "epoch"), ("minibatch", "epoch")])
def test_the_bar_is_on_stderr_and_not_on_stdout(kind, method, unit, capsys):
    X, y = data(seed=seed_of("stderr", method))
    res = descend.fit(X, y, method=method, learning_rate=0.01, max_iter=7, tol=None, seed=1, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("\n")
    assert final_count(err, kind) == (res.n_iter, 7) == (7, 7)
    if kind == "plain":
        # One line: a fit this short draws only its end.
        line = err.strip()
        assert "\n" not in line
        assert re.fullmatch(rf"descend: {unit} 7/7  objective (\S+)  \S+ {unit}s/s  \(\d+\.\d+ s\)", line), line
        shown = float(re.search(r"objective (\S+)", line).group(1))
        assert shown == pytest.approx(res.loss_history[-1], rel=1e-3)
    else:
        assert "descend:" in err and "objective=" in err
        assert ("it/s" if unit == "iteration" else "epoch/s") in err
        assert not tqdm.tqdm._instances  # closed


def test_without_progress_nothing_is_drawn(capsys):
    X, y = data()
    descend.fit(X, y, learning_rate=0.01, max_iter=7, tol=None)
    descend.fit(X, y, method="sgd", learning_rate=0.01, max_iter=3, tol=None, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_and_verbose_keep_their_streams(capsys):
    X, y = data()
    res = descend.fit(X, y, learning_rate=0.01, max_iter=5, tol=None, verbose=True, progress=True)
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == f"descend: {res.message}"  # verbose: stdout, as before
    assert "5/5" in err and res.message not in err


def test_bad_input_draws_nothing(kind, capsys):
    X, y = data()
    with pytest.raises(ValueError):
        descend.fit(X, y, max_iter=-1, progress=True)
    with pytest.raises(ValueError):
        descend.fit(X, y, learning_rate=-1.0, progress=True)
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------- how often


@pytest.mark.parametrize("use_tqdm, interval", [(True, 0.1), (False, 0.5)])
def test_the_display_is_touched_at_most_every_interval(use_tqdm, interval, capsys):
    clock = FakeClock(0.001)  # 5000 updates over 5 s
    bar = ProgressBar(5000, "epoch", use_tqdm=use_tqdm, clock=clock)
    assert bar.interval == interval
    for k in range(1, 5001):
        bar.update(k, 1.0 / k)
    bar.close()
    elapsed = clock.now
    assert bar.shows <= elapsed / interval + 2  # the final display added
    assert bar.shows >= elapsed / interval - 2  # and it does show while running
    err = capsys.readouterr().err
    assert final_count(err, "tqdm" if use_tqdm else "plain") == (5000, 5000)
    if not use_tqdm:
        assert len(err.strip().splitlines()) == bar.shows


def test_a_fit_draws_at_most_ten_times_a_fake_second(kind, shows, monkeypatch, capsys):
    clock = FakeClock(0.004)  # 2000 iterations of 4 ms: 8 s
    monkeypatch.setattr(_progress, "_clock", clock)
    X, y = data(50, 3)
    res = descend.fit(X, y, learning_rate=1e-4, max_iter=2000, tol=None, progress=True)
    assert res.n_iter == 2000
    interval = 0.1 if kind == "tqdm" else 0.5
    running = [now for _, now, final in shows if not final]
    assert len(running) >= 8.0 / interval - 2
    assert all(b - a >= interval - 1e-9 for a, b in zip(running, running[1:]))
    assert [final for _, _, final in shows].count(True) == 1 and shows[-1][2]
    assert shows[-1][0].count == 2000
    assert final_count(capsys.readouterr().err, kind) == (2000, 2000)


def test_a_real_fit_draws_at_most_ten_times_a_second(shows, capsys):
    X, y = data(2000, 20)
    start = time.perf_counter()
    res = descend.fit(X, y, method="sgd", learning_rate=1e-4, max_iter=100_000, tol=None,
                      callback=lambda s: time.perf_counter() - start > 0.6, progress=True)
    elapsed = time.perf_counter() - start
    assert res.status == "callback" and res.n_iter > 20
    assert len(shows) <= 10 * elapsed + 2
    assert shows[-1][2] and shows[-1][0].count == res.n_iter
    capsys.readouterr()


def test_the_update_is_cheap():
    # The call the observer makes every iteration: a clock read and a comparison.
    bar = ProgressBar(10**6, "iteration", use_tqdm=False, interval=1e9)
    start = time.perf_counter()
    for k in range(20_000):
        bar.update(k, 1.0)
    per_call = (time.perf_counter() - start) / 20_000
    assert bar.shows == 0
    assert per_call < 20e-6  # ~0.3 us here; generous for a loaded machine


# ---------------------------------------------------------------- the end


@pytest.mark.parametrize("method", METHODS)
def test_the_final_count_is_n_iter_at_a_tol_stop(kind, method, shows, capsys):
    # A tol stop makes no observer call for its last check: close() draws it.
    X, y = data(seed=seed_of("tol", method))
    res = descend.fit(X, y, method=method, learning_rate=0.05, max_iter=500, tol=1e-3, seed=0, progress=True)
    assert res.status == "tol" and res.n_iter < 500
    assert shows[-1][2] and shows[-1][0].count == res.n_iter
    assert shows[-1][0].objective == res.loss_history[-1]
    assert final_count(capsys.readouterr().err, kind) == (res.n_iter, 500)


def test_the_bar_is_closed_after_a_divergence(kind, monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_clock", FakeClock(1.0))  # every update draws
    X, y = data(500, 10)
    with pytest.raises(descend.DivergenceError) as e:
        descend.fit(X, y, learning_rate=20.0, max_iter=1000, tol=None, progress=True)
    at = int(re.search(r"at iteration (\d+)", str(e.value)).group(1))
    assert at >= 2  # the bar was drawn before
    err = capsys.readouterr().err
    assert err.endswith("\n")
    count, total = final_count(err, kind)
    assert total == 1000 and 1 <= count <= at
    assert not tqdm.tqdm._instances


def test_the_bar_is_closed_after_a_keyboard_interrupt(kind, monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_clock", FakeClock(1.0))

    def interrupt(state):
        if state.iteration == 3:
            raise KeyboardInterrupt

    X, y = data()
    with pytest.raises(KeyboardInterrupt):
        descend.fit(X, y, method="minibatch", learning_rate=0.01, max_iter=50, tol=None, callback=interrupt,
                    progress=True)
    err = capsys.readouterr().err
    assert err.endswith("\n") and final_count(err, kind) == (3, 50)
    assert not tqdm.tqdm._instances


def test_close_is_idempotent_and_draws_nothing_without_a_count(capsys):
    bar = ProgressBar(10, "epoch", use_tqdm=False)
    bar.close()
    bar.close(3, 1.0)
    assert bar.shows == 0 and capsys.readouterr().err == ""
    with ProgressBar(10, "epoch", use_tqdm=False) as bar:
        bar.update(4, 0.5)
    assert bar.closed and capsys.readouterr().err.startswith("descend: epoch 4/10  objective 5.000e-01")


def test_use_tqdm_true_needs_tqdm(monkeypatch):
    assert ProgressBar(1, "epoch", use_tqdm=True).tqdm_class is tqdm.tqdm
    assert ProgressBar(1, "epoch", use_tqdm=False).tqdm_class is None
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert ProgressBar(1, "epoch").tqdm_class is None
    with pytest.raises(ImportError, match="tqdm"):
        ProgressBar(1, "epoch", use_tqdm=True)


# ---------------------------------------------------------------- same result


def assert_bitwise(a, b):
    for name in ("coef", "intercept", "loss_history", "learning_rate_history"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("n_iter", "status", "message", "converged", "grad_norm", "learning_rate"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("extra", [dict(tol=None, max_iter=30), dict(tol=1e-4, max_iter=300, l1=0.01),
                                   dict(loss="logistic", optimizer="adam", tol=None, max_iter=20, average=True),
                                   dict(learning_rate=30.0, on_divergence="retry", max_iter=40)],
                         ids=["max_iter", "tol-l1", "logistic-adam", "retry"])
def test_the_result_is_bitwise_the_same(kind, method, extra, monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_clock", FakeClock(0.05))  # draws every other update
    if method == "batch" and "average" in extra:
        extra = {k: v for k, v in extra.items() if k != "average"}
    kw = dict(dict(method=method, learning_rate=0.01, seed=5, batch_size=16), **extra)
    X, y = data(300, 6, seed_of("bitwise", method), extra.get("loss", "squared"))
    plain = descend.fit(X, y, **kw)
    shown = descend.fit(X, y, progress=True, **kw)
    assert_bitwise(shown, plain)
    assert capsys.readouterr().err


# ---------------------------------------------------------------- estimators


@pytest.mark.parametrize("kind_of, loss", [("GDRegressor", "squared"), ("GDClassifier", "logistic")])
def test_the_estimators_verbose_shows_the_bar(kind, kind_of, loss, capsys):
    pytest.importorskip("sklearn")
    X, y = data(loss=loss)
    est = getattr(descend, kind_of)(loss=loss, max_iter=12, tol=None, verbose=True, random_state=0)
    est.fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    assert final_count(err, kind) == (est.n_iter_, 12)
    quiet = getattr(descend, kind_of)(loss=loss, max_iter=12, tol=None, random_state=0).fit(X, y)
    assert capsys.readouterr() == ("", "")
    np.testing.assert_array_equal(est.coef_, quiet.coef_)
    np.testing.assert_array_equal(est.loss_curve_, quiet.loss_curve_)


# ---------------------------------------------------------------- imports


def test_import_descend_imports_no_optional_package():
    code = ("import sys, descend\n"
            "print(sorted(m for m in ('tqdm', 'matplotlib', 'pandas', 'scipy', 'sklearn', 'pyarrow') "
            "if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
