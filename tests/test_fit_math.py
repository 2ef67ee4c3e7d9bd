"""descend.fit with the new losses, update rules, l1/elastic net and
learning_rate="auto" (DESIGN.md §2), against the plain-NumPy oracle
``descend.reference.fit`` and, where a peer solves the same problem, against
scikit-learn.

Every comparison with the oracle uses the same arguments on both sides; the
oracle replays the core's SplitMix64 shuffle, so sgd and minibatch runs are
compared step for step. float64 runs agree to ~1e-10 relative; float32 runs
keep parameters and optimizer state in float32 (the oracle in float64), so
they agree to ~1e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

import descend
from descend import reference

from conftest import LOSSES, METHODS, OPTIMIZERS, seed_of

# Step sizes that move the parameters visibly in 4 iterations without
# diverging; sgd takes 60 updates per epoch, so a smaller one.
LR = {"gd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.1, "rmsprop": 0.01, "adam": 0.05,
      "adamw": 0.05}


def rel_err(actual, expected):
    """||actual - expected|| / ||expected||, in float64 (expected must not be 0)."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    scale = np.linalg.norm(expected)
    assert scale > 0, "expected value is zero: the comparison would prove nothing"
    return np.linalg.norm(actual - expected) / scale


def make_targets(rng, X, k=3):
    """y for every loss: real targets, 0/1 labels, k class labels."""
    n, d = X.shape
    w = rng.normal(size=d)
    p = X @ w
    labels01 = (rng.uniform(size=n) < 1 / (1 + np.exp(-p))).astype(np.float64)
    P = X @ rng.normal(size=(d, k)) + rng.gumbel(size=(n, k))
    return {
        "squared": p + 0.3 * rng.normal(size=n) + 0.5,
        "huber": p + rng.standard_t(2, size=n) + 0.5,  # heavy tails: both huber pieces
        "logistic": labels01,
        "hinge": labels01,
        "softmax": np.argmax(P, axis=1).astype(np.float64),
    }


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(seed_of("small data"))
    X = rng.normal(size=(60, 4))
    return X, make_targets(rng, X)


def fit_kwargs(loss, method, optimizer):
    return dict(loss=loss, method=method, optimizer=optimizer,
                learning_rate=LR[optimizer] * (0.2 if method == "sgd" else 1.0), batch_size=16,
                max_iter=4, tol=None, fit_intercept=True, l2=0.01, l1=0.005, seed=7)


def assert_fit_matches(res, ref, rtol, k=None):
    assert res.n_iter == ref.n_iter
    assert res.status == ref.status
    assert res.converged == ref.converged
    assert res.learning_rate == pytest.approx(ref.learning_rate, rel=1e-15)
    assert rel_err(res.coef, ref.coef) <= rtol
    assert rel_err(res.intercept, ref.intercept) <= rtol
    assert res.loss_history.dtype == np.float64 and res.loss_history.shape == ref.loss_history.shape
    np.testing.assert_allclose(res.loss_history, ref.loss_history, rtol=rtol, atol=0)
    assert res.grad_norm == pytest.approx(ref.grad_norm, rel=rtol)
    if k is not None:
        assert res.coef.shape == ref.coef.shape == (res.coef.shape[0], k)
        assert isinstance(res.intercept, np.ndarray) and res.intercept.shape == (k,)
    else:
        assert res.coef.ndim == 1 and isinstance(res.intercept, float)


# ------------------------------------------------------------ 1. the whole grid


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_grid_matches_reference_float64(small_data, optimizer, method, loss):
    X, ys = small_data
    y = ys[loss]
    kw = fit_kwargs(loss, method, optimizer)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert res.coef.dtype == np.float64
    assert res.n_iter == 4 and res.status == "max_iter" and not res.converged
    # The run went somewhere: the parameters left the zero start and the objective moved.
    assert np.any(res.coef != 0) and np.any(np.asarray(res.intercept) != 0)
    assert res.loss_history[-1] != res.loss_history[0]
    assert_fit_matches(res, ref, 1e-10, k=3 if loss == "softmax" else None)


F32_CASES = [(o, m, l) for o in ("gd", "nesterov", "adam") for m in ("batch", "minibatch")
             for l in LOSSES] + [("rmsprop", "sgd", "huber"), ("adamw", "sgd", "softmax"),
                                 ("adagrad", "sgd", "hinge"), ("momentum", "sgd", "logistic")]


@pytest.mark.parametrize("optimizer, method, loss", F32_CASES)
def test_grid_subset_matches_reference_float32(small_data, optimizer, method, loss):
    X, ys = small_data
    X32 = X.astype(np.float32)
    y32 = ys[loss].astype(np.float32)
    kw = fit_kwargs(loss, method, optimizer)
    res = descend.fit(X32, y32, **kw)
    ref = reference.fit(X32, y32, **kw)  # float64 on the same (float32) numbers
    assert res.coef.dtype == np.float32
    assert np.any(res.coef != 0)
    assert_fit_matches(res, ref, 1e-4, k=3 if loss == "softmax" else None)


# ------------------------------------------------------------ 2. hyper-parameters


HYPER = [
    ("adam", {"beta_1": 0.8}),
    ("adam", {"beta_2": 0.9}),
    ("adam", {"epsilon": 1e-2}),
    ("adamw", {"weight_decay": 0.1}),
    ("adamw", {"beta_1": 0.5, "weight_decay": 0.3}),
    ("rmsprop", {"rho": 0.9}),
    ("momentum", {"momentum": 0.5}),
    ("nesterov", {"momentum": 0.5}),
    ("adagrad", {"epsilon": 1e-2}),
]


@pytest.mark.parametrize("method", ["batch", "minibatch"])
@pytest.mark.parametrize("optimizer, hyper", HYPER, ids=[f"{o}-{sorted(h)}" for o, h in HYPER])
def test_hyper_parameters_reach_the_update_rule(small_data, optimizer, hyper, method):
    X, ys = small_data
    y = ys["logistic"]
    kw = dict(loss="logistic", method=method, optimizer=optimizer, learning_rate=0.05, batch_size=16,
              max_iter=10, tol=None, fit_intercept=True, l2=0.01, seed=3)
    default = descend.fit(X, y, **kw)
    custom = descend.fit(X, y, **kw, **hyper)
    assert rel_err(custom.coef, default.coef) > 1e-4, "the hyper-parameter had no effect"
    assert_fit_matches(custom, reference.fit(X, y, **kw, **hyper), 1e-10)
    assert_fit_matches(default, reference.fit(X, y, **kw), 1e-10)


@pytest.mark.parametrize("optimizer, name", [("adam", "beta1"), ("adam", "momentum"), ("gd", "momentum"),
                                             ("rmsprop", "beta_1"), ("momentum", "rho"),
                                             ("adagrad", "weight_decay")])
def test_unknown_hyper_parameter_is_a_type_error(small_data, optimizer, name):
    X, ys = small_data
    with pytest.raises(TypeError, match=name):
        descend.fit(X, ys["squared"], optimizer=optimizer, max_iter=2, **{name: 0.9})


@pytest.mark.parametrize("optimizer, name, value", [
    ("momentum", "momentum", 1.0),
    ("nesterov", "momentum", -0.1),
    ("rmsprop", "rho", 1.0),
    ("adam", "beta_1", 1.0),
    ("adam", "beta_2", 1.5),
    ("adam", "epsilon", 0.0),
    ("adagrad", "epsilon", -1e-8),
    ("adamw", "weight_decay", -0.1),
])
def test_bad_hyper_parameter_value_is_a_value_error(small_data, optimizer, name, value):
    X, ys = small_data
    with pytest.raises(ValueError, match=name):
        descend.fit(X, ys["squared"], optimizer=optimizer, max_iter=2, **{name: value})


# ------------------------------------------------------------ 3. l1 and elastic net


@pytest.fixture(scope="module")
def sparse_problem():
    rng = np.random.default_rng(seed_of("sparse"))
    n, d = 400, 30
    X = rng.normal(size=(n, d))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    support = np.sort(rng.choice(d, size=5, replace=False))
    w = np.zeros(d)
    w[support] = rng.choice([-1, 1], size=5) * rng.uniform(0.8, 2.0, size=5)
    y = X @ w + 0.7 + 0.01 * rng.normal(size=n)
    return X, y, w, support


def test_l1_recovers_the_exact_support(sparse_problem):
    X, y, w, support = sparse_problem
    l1 = 0.1
    res = descend.fit(X, y, l1=l1, learning_rate=0.3, max_iter=5000, tol=None, gtol=1e-10,
                      fit_intercept=True)
    assert res.status == "gtol" and res.converged
    off = np.setdiff1d(np.arange(X.shape[1]), support)
    assert np.all(res.coef[off] == 0.0), f"nonzero off the support: {res.coef[off][res.coef[off] != 0]}"
    assert np.all(res.coef[support] != 0) and np.all(np.sign(res.coef[support]) == np.sign(w[support]))
    # The lasso optimum, independently: sklearn's Lasso minimises
    # 1/(2n) ||y - Xw - b||^2 + alpha ||w||_1, half of descend's
    # (1/n) ||y - Xw - b||^2 + l1 ||w||_1 when alpha = l1 / 2.
    from sklearn.linear_model import Lasso

    lasso = Lasso(alpha=l1 / 2, tol=1e-14, max_iter=100_000).fit(X, y)
    assert np.array_equal(lasso.coef_ != 0, res.coef != 0)
    assert rel_err(res.coef, lasso.coef_) <= 1e-8
    assert res.intercept == pytest.approx(lasso.intercept_, rel=1e-8)
    # Shrinkage: with standardized X each active coefficient moves by l1/2 towards 0.
    assert np.all(np.abs(res.coef[support]) < np.abs(w[support]))


def test_elastic_net_gives_exact_zeros_and_matches(sparse_problem):
    X, y, w, support = sparse_problem
    l1, l2 = 0.1, 0.05
    kw = dict(l1=l1, l2=l2, learning_rate=0.3, max_iter=300, tol=None, fit_intercept=True)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    off = np.setdiff1d(np.arange(X.shape[1]), support)
    assert np.all(res.coef[off] == 0.0) and np.all(res.coef[support] != 0)
    assert np.array_equal(res.coef == 0, ref.coef == 0)
    assert_fit_matches(res, ref, 1e-10)
    # sklearn's ElasticNet: 1/(2n) ||r||^2 + alpha rho ||w||_1 + alpha (1 - rho)/2 ||w||^2 is half of
    # descend's objective when alpha rho = l1/2 and alpha (1 - rho) = l2/2.
    from sklearn.linear_model import ElasticNet

    alpha = (l1 + l2) / 2
    enet = ElasticNet(alpha=alpha, l1_ratio=l1 / (l1 + l2), tol=1e-14, max_iter=100_000).fit(X, y)
    assert np.array_equal(enet.coef_ != 0, res.coef != 0)
    assert rel_err(res.coef, enet.coef_) <= 1e-8
    # l2 shrinks further than l1 alone.
    lasso_only = descend.fit(X, y, **{**kw, "l2": 0.0})
    assert np.all(np.abs(res.coef[support]) < np.abs(lasso_only.coef[support]))


@pytest.mark.parametrize("method", ["sgd", "minibatch"])
def test_l1_with_stochastic_methods_matches_reference(sparse_problem, method):
    X, y, _, support = sparse_problem
    kw = dict(method=method, l1=0.1, l2=0.01, learning_rate=0.01, max_iter=3, tol=None, fit_intercept=True,
              batch_size=25, seed=11)
    res = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert np.any(res.coef == 0.0) and np.any(res.coef != 0.0)
    assert np.array_equal(res.coef == 0, ref.coef == 0)
    assert_fit_matches(res, ref, 1e-10)


# ------------------------------------------------------------ 4. softmax vs scikit-learn


def test_softmax_matches_sklearn_multinomial_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed_of("sklearn softmax"))
    n, d, k = 300, 4, 3
    X = rng.normal(size=(n, d))
    P = X @ rng.normal(size=(d, k)) + rng.normal(size=k) + rng.gumbel(size=(n, k))
    y = np.argmax(P, axis=1)
    C = 0.5
    # sklearn 1.9.1 (_logistic.py, solver lbfgs) minimises
    #   C * sum_i CE_i + 1/2 ||W||^2  =  C n * (mean_i CE_i + 1/(2 C n) ||W||^2)
    # (it passes l2_reg_strength = 1/(C n) to a mean-loss objective), intercept
    # unpenalised; descend minimises mean_i CE_i + l2/2 ||W||^2: same optimum for
    # l2 = 1/(C n).
    l2 = 1.0 / (C * n)
    clf = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    res = descend.fit(X, y.astype(np.float64), loss="softmax", learning_rate="auto", gtol=1e-10, tol=None,
                      max_iter=100_000, l2=l2, fit_intercept=True)
    assert res.status == "gtol" and res.converged
    assert res.coef.shape == (d, k) and res.intercept.shape == (k,)
    # Softmax has a gauge freedom: adding the same vector to every class's
    # coefficients (a constant to every intercept) leaves the probabilities
    # unchanged. The l2 term pins W (the optimum has W 1 = 0), so coef_.T and
    # coef compare directly; the unpenalised intercepts are only determined up
    # to a common constant, so they are compared after removing their mean.
    assert np.abs(res.coef.sum(axis=1)).max() <= 1e-10
    assert rel_err(res.coef, clf.coef_.T) <= 1e-5
    assert rel_err(res.intercept - res.intercept.mean(), clf.intercept_ - clf.intercept_.mean()) <= 1e-5
    proba = softmax(X @ res.coef + res.intercept, axis=1)
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-6)


# ------------------------------------------------------------ 5. learning_rate="auto"


@pytest.fixture(scope="module")
def badly_scaled():
    rng = np.random.default_rng(seed_of("badly scaled"))
    scales = np.logspace(-3, 3, 5)
    X = rng.normal(size=(500, 5)) * scales
    Xs = X / scales  # every feature contributes alike to the targets
    p = Xs @ rng.normal(size=5)
    y_reg = p + 0.1 * rng.normal(size=500)
    y_bin = (rng.uniform(size=500) < 1 / (1 + np.exp(-p))).astype(np.float64)
    return X, {"squared": y_reg, "logistic": y_bin}


def test_default_learning_rate_diverges_on_badly_scaled_squared(badly_scaled):
    X, ys = badly_scaled
    with pytest.raises(descend.DivergenceError, match="learning_rate"):
        descend.fit(X, ys["squared"], loss="squared")


def test_default_learning_rate_fails_on_badly_scaled_logistic(badly_scaled):
    """The logistic gradient is bounded, so a too-large step makes the
    objective oscillate and grow linearly, never by the 1e10 factor of the
    divergence rule: the run must at least not claim convergence."""
    X, ys = badly_scaled
    try:
        res = descend.fit(X, ys["logistic"], loss="logistic", max_iter=2000)
    except descend.DivergenceError:
        return
    assert not res.converged and res.status == "max_iter"
    assert res.loss_history[-1] > 10 * res.loss_history[0]


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_auto_learning_rate_converges_on_badly_scaled_data(badly_scaled, loss):
    X, ys = badly_scaled
    res = descend.fit(X, ys[loss], loss=loss, learning_rate="auto", max_iter=100_000)
    assert res.status == "tol" and res.converged
    h = res.loss_history
    assert np.all(np.diff(h) <= 0), "batch gd with 1/L must decrease the objective monotonically"
    # With a condition number ~1e12 gd only learns the large-scale features
    # before the objective's relative change drops below tol: a decrease,
    # not the optimum.
    assert h[-1] < h[0]
    exact = reference.auto_learning_rate(X, loss, "batch", False, 0.0)
    assert res.learning_rate == pytest.approx(exact, rel=1e-2)
    # ... and it is the oracle's run, step for step.
    n = min(res.n_iter, 50)
    ref = reference.fit(X, ys[loss], loss=loss, learning_rate=res.learning_rate, max_iter=n, tol=None)
    np.testing.assert_allclose(res.loss_history[:n], ref.loss_history, rtol=1e-10)


AUTO_CASES = [(loss, fi, l2, w) for loss in ("squared", "logistic", "huber", "softmax")
              for fi in (False, True) for l2 in (0.0, 0.3) for w in (False, True)]


@pytest.mark.parametrize("loss, fit_intercept, l2, weighted", AUTO_CASES)
def test_auto_learning_rate_matches_reference(badly_scaled, loss, fit_intercept, l2, weighted):
    X, ys = badly_scaled
    n = X.shape[0]
    rng = np.random.default_rng(seed_of("auto weights"))
    w = rng.uniform(0.0, 2.0, size=n) if weighted else None
    y = {"huber": ys["squared"], "softmax": (ys["squared"] > 0) + (ys["squared"] > 1.0)}.get(loss, ys.get(loss))
    y = np.asarray(y, np.float64)
    common = dict(loss=loss, learning_rate="auto", fit_intercept=fit_intercept, l2=l2, sample_weight=w,
                  max_iter=1)
    batch = descend.fit(X, y, method="batch", **common)
    exact = reference.auto_learning_rate(X, loss, "batch", fit_intercept, l2, w)
    # Lanczos underestimates lambda_max (its largest Ritz value lies inside
    # H's spectrum), so 1/L is slightly high, never low.
    assert exact * (1 - 1e-12) <= batch.learning_rate <= exact * 1.01
    for method in ("sgd", "minibatch"):  # max_i w_i ||z_i||^2: exact
        res = descend.fit(X, y, method=method, **common)
        assert res.learning_rate == pytest.approx(
            reference.auto_learning_rate(X, loss, method, fit_intercept, l2, w), rel=1e-12)


def test_auto_learning_rate_lanczos_is_close_on_random_problems():
    """1/L from the core's Lanczos iteration vs the exact eigenvalue over
    ordinary random problems (unstandardized features with a mean offset,
    with and without intercept). The problems are the sweep that showed the
    power iteration used before Lanczos stopping near the second eigenvalue
    and underestimating L by 15-35% (hence the seed label); DESIGN calls L a
    bound, so 1/L is never below the exact value and at most 2% above it."""
    worst = []
    for case in range(200):
        rng = np.random.default_rng(seed_of("power iteration", case))
        n, d = int(rng.integers(20, 400)), int(rng.integers(1, 40))
        X = rng.normal(size=(n, d)) * rng.uniform(0.2, 3, size=d) + rng.normal(size=d) * rng.uniform(0, 1)
        fit_intercept = bool(case % 2)
        res = descend.fit(X, np.zeros(n), learning_rate="auto", max_iter=1, fit_intercept=fit_intercept)
        exact = reference.auto_learning_rate(X, "squared", "batch", fit_intercept, 0.0)
        worst.append((res.learning_rate / exact - 1, case, n, d, fit_intercept))
    worst.sort()
    assert worst[0][0] >= -1e-12
    assert worst[-1][0] <= 0.02, f"1/L too large by {worst[-1][0]:.1%} (case, n, d, fit_intercept = {worst[-1][1:]})"


@pytest.mark.parametrize("seed", [1423, 9943, 16969])
def test_auto_learning_rate_never_diverges(seed):
    """learning_rate="auto" exists so that batch gd converges without a
    guessed rate. These small random problems (found by a sweep over 20000
    seeds of this generator) made the power iteration used before Lanczos
    stop near a smaller eigenvalue, so its 1/L exceeded 2/lambda_max and the
    run diverged, while the exact 1/L converges; they stay as regression
    cases for the Lanczos estimate."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 5))
    X = rng.normal(size=(30, d)) * rng.uniform(0.1, 3, size=d)
    y = X @ np.ones(d)
    exact = reference.auto_learning_rate(X, "squared", "batch", False, 0.0)
    ok = descend.fit(X, y, learning_rate=exact, max_iter=100_000)
    assert ok.converged and np.all(np.diff(ok.loss_history) <= 0)
    res = descend.fit(X, y, learning_rate="auto", max_iter=100_000)
    assert res.converged
    assert res.learning_rate <= 1.01 * exact


@pytest.mark.parametrize("kwargs", [{"loss": "hinge"}, {"optimizer": "adam"}, {"optimizer": "adamw"},
                                    {"optimizer": "adagrad"}, {"optimizer": "rmsprop"},
                                    {"loss": "hinge", "method": "sgd"}])
def test_auto_learning_rate_rejected_where_undefined(small_data, kwargs):
    X, ys = small_data
    y = ys[kwargs.get("loss", "squared")]
    with pytest.raises(ValueError, match="learning_rate"):
        descend.fit(X, y, learning_rate="auto", max_iter=2, **kwargs)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_auto_learning_rate_with_momentum_matches_reference(small_data, optimizer):
    X, ys = small_data
    kw = dict(loss="softmax", method="minibatch", optimizer=optimizer, learning_rate="auto", max_iter=3,
              tol=None, fit_intercept=True, batch_size=16)
    res = descend.fit(X, ys["softmax"], **kw)
    assert_fit_matches(res, reference.fit(X, ys["softmax"], **kw), 1e-10, k=3)


# ------------------------------------------------------------ 6. softmax shapes


def test_softmax_fit_shapes_coef0_and_callback(small_data):
    X, ys = small_data
    n, d = X.shape
    y = ys["softmax"]  # labels 0..2
    res = descend.fit(X, y, loss="softmax", max_iter=3, tol=None, fit_intercept=True, learning_rate=0.1)
    assert res.coef.shape == (d, 3) and res.intercept.shape == (3,)
    assert res.coef.dtype == np.float64 and res.intercept.dtype == np.float64

    # coef0 of shape (d, k) sets k, even beyond the largest label.
    coef0 = np.random.default_rng(seed_of("coef0")).normal(size=(d, 5)) * 0.1
    states = []
    kw = dict(loss="softmax", max_iter=4, tol=None, fit_intercept=True, learning_rate=0.1, l2=0.05,
              coef0=coef0, intercept0=0.2)
    res = descend.fit(X, y, callback=states.append, **kw)
    assert res.coef.shape == (d, 5) and res.intercept.shape == (5,)
    assert_fit_matches(res, reference.fit(X, y, **kw), 1e-10, k=5)
    assert np.array_equal(coef0, np.random.default_rng(seed_of("coef0")).normal(size=(d, 5)) * 0.1)

    assert [s.iteration for s in states] == [1, 2, 3, 4]
    for s, J in zip(states, res.loss_history):
        assert isinstance(s, descend.IterationState)
        assert s.coef.shape == (d, 5) and s.intercept.shape == (5,)
        # Each state holds the parameters its objective was evaluated at.
        value = reference.loss_grad(X, y, s.coef, s.intercept, loss="softmax", l2=0.05)[0]
        assert s.objective == J == pytest.approx(value, rel=1e-12)
    assert not np.array_equal(states[0].coef, states[-1].coef)

    # Without fit_intercept the intercepts stay at intercept0.
    res = descend.fit(X, y, loss="softmax", max_iter=3, tol=None, coef0=coef0, intercept0=np.arange(5.0))
    assert np.array_equal(res.intercept, np.arange(5.0)) and res.coef.shape == (d, 5)
