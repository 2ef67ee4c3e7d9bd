"""descend.schedules: the step size eta_t of update t (DESIGN.md §2).

Each schedule is checked against its formula written out here, against
descend.reference.schedule_at, and inside descend.fit against
descend.reference.fit, where t counts updates (iterations for batch,
mini-batch steps across epochs for sgd/minibatch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import descend
from descend import reference, schedules

TS = list(range(0, 120)) + [250, 999, 1000, 1001, 12345, 10**6]


def formula(kind, t, **p):
    """The documented definitions (scikit-learn's invscaling, PyTorch's
    ExponentialLR / StepLR / CosineAnnealingLR held at eta_min after t_max)."""
    if kind == "Constant":
        return p["eta0"]
    if kind == "InverseScaling":
        return p["eta0"] / (t + 1) ** p.get("power_t", 0.25)
    if kind == "Exponential":
        return p["eta0"] * p["gamma"] ** t
    if kind == "Step":
        return p["eta0"] * p.get("gamma", 0.1) ** (t // p["step_size"])
    if kind == "Cosine":
        eta_min, t_max = p.get("eta_min", 0.0), p["t_max"]
        return eta_min + (p["eta0"] - eta_min) * (1 + math.cos(math.pi * min(t, t_max) / t_max)) / 2
    raise AssertionError(kind)


def random_cases(seed, count=4):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        eta0 = float(rng.uniform(0.001, 2.0))
        cases += [
            ("Constant", {"eta0": eta0}),
            ("InverseScaling", {"eta0": eta0, "power_t": float(rng.uniform(0.0, 1.5))}),
            ("Exponential", {"eta0": eta0, "gamma": float(rng.uniform(0.9, 1.0))}),
            ("Step", {"eta0": eta0, "step_size": int(rng.integers(1, 40)), "gamma": float(rng.uniform(0.05, 1.0))}),
            ("Cosine", {"eta0": eta0, "t_max": int(rng.integers(1, 300)),
                        "eta_min": float(rng.uniform(0.0, eta0))}),
        ]
    return cases


DEFAULTED = [
    ("InverseScaling", {"eta0": 0.3}),
    ("Step", {"eta0": 0.3, "step_size": 10}),
    ("Cosine", {"eta0": 0.3, "t_max": 50}),
    ("Exponential", {"eta0": 0.3, "gamma": 1.0}),
    ("Step", {"eta0": 0.3, "step_size": 1, "gamma": 1.0}),
    ("Cosine", {"eta0": 0.3, "t_max": 1, "eta_min": 0.3}),
]
CASES = random_cases(2024) + DEFAULTED


@pytest.mark.parametrize("kind,params", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_schedule_matches_formula_and_reference(kind, params):
    schedule = getattr(schedules, kind)(**params)
    for t in TS:
        expected = formula(kind, t, **params)
        assert schedule(t) == pytest.approx(expected, rel=1e-13, abs=1e-300), (kind, params, t)
        assert reference.schedule_at(schedule, t) == pytest.approx(expected, rel=1e-13, abs=1e-300)
    assert schedule(0) == pytest.approx(params["eta0"], rel=1e-15)


def test_schedule_shapes():
    """Properties that hold whatever the formula's form: the test would fail
    for a schedule that returned eta0 (or 0) everywhere."""
    inv = schedules.InverseScaling(1.0, power_t=0.5)
    assert [inv(t) for t in (0, 3, 8, 99)] == pytest.approx([1.0, 0.5, 1 / 3, 0.1], rel=1e-14)
    assert schedules.InverseScaling(0.7)(15) == pytest.approx(0.7 / 2.0, rel=1e-14)  # power_t = 1/4
    exp = schedules.Exponential(2.0, gamma=0.5)
    assert [exp(t) for t in range(5)] == pytest.approx([2.0, 1.0, 0.5, 0.25, 0.125], rel=1e-15)
    step = schedules.Step(1.0, step_size=3)  # gamma 0.1
    assert [step(t) for t in range(10)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001],
                                                         rel=1e-14)
    cos = schedules.Cosine(1.0, t_max=4, eta_min=0.2)
    assert cos(0) == pytest.approx(1.0, rel=1e-15)
    assert cos(2) == pytest.approx(0.6, rel=1e-14)  # halfway: the mean
    assert cos(4) == pytest.approx(0.2, rel=1e-14)
    assert cos(5) == cos(4) == cos(10**9)  # held at eta_min after t_max, not climbing again
    values = [cos(t) for t in range(5)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert schedules.Cosine(0.5, t_max=10)(10) == 0.0  # eta_min defaults to 0
    assert schedules.Constant(0.25)(10**9) == 0.25


@pytest.mark.parametrize("kind", ["Constant", "InverseScaling", "Exponential", "Step", "Cosine"])
def test_schedule_is_evaluated_by_the_core(kind):
    """schedule(t) asks the core; reference.schedule_at is NumPy: they agree."""
    params = dict(random_cases(7, 1))[kind]
    schedule = getattr(schedules, kind)(**params)
    core = np.array([schedule(t) for t in range(500)])
    ref = np.array([reference.schedule_at(schedule, t) for t in range(500)])
    np.testing.assert_allclose(core, ref, rtol=1e-13)


BAD = [
    ("Exponential", {"eta0": 0.1, "gamma": 0}, "gamma"),
    ("Exponential", {"eta0": 0.1, "gamma": 1.5}, "gamma"),
    ("Exponential", {"eta0": 0.1, "gamma": -0.5}, "gamma"),
    ("Step", {"eta0": 0.1, "step_size": 5, "gamma": 0}, "gamma"),
    ("Step", {"eta0": 0.1, "step_size": 5, "gamma": 1.5}, "gamma"),
    ("Step", {"eta0": 0.1, "step_size": 0}, "step_size"),
    ("Step", {"eta0": 0.1, "step_size": -3}, "step_size"),
    ("Cosine", {"eta0": 0.1, "t_max": 0}, "t_max"),
    ("Cosine", {"eta0": 0.1, "t_max": 10, "eta_min": 0.2}, "eta_min"),
    ("Cosine", {"eta0": 0.1, "t_max": 10, "eta_min": -0.1}, "eta_min"),
    ("Constant", {"eta0": 0.0}, "eta0"),
    ("InverseScaling", {"eta0": -1.0}, "eta0"),
    ("Cosine", {"eta0": 0.0, "t_max": 3}, "eta0"),
    ("Exponential", {"eta0": float("nan"), "gamma": 0.9}, "eta0"),
    ("InverseScaling", {"eta0": 0.1, "power_t": -0.5}, "power_t"),
]


@pytest.mark.parametrize("kind,params,name", BAD, ids=[f"{k}-{n}-{i}" for i, (k, _, n) in enumerate(BAD)])
def test_bad_parameters_raise_value_error_naming_them(kind, params, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        getattr(schedules, kind)(**params)


@pytest.mark.parametrize("kind,params,name", [
    ("Step", {"eta0": 0.1, "step_size": 2.5}, "step_size"),
    ("Cosine", {"eta0": 0.1, "t_max": "10"}, "t_max"),
    ("Constant", {"eta0": "0.1"}, "eta0"),
])
def test_wrong_types_raise_type_error_naming_them(kind, params, name):
    with pytest.raises(TypeError, match=name):
        getattr(schedules, kind)(**params)


def test_negative_t_is_rejected():
    with pytest.raises(ValueError, match=r"\bt\b"):
        schedules.Exponential(0.1, gamma=0.9)(-1)


# ---------------------------------------------------------------------------
# schedules inside descend.fit share the reference's clock


def _regression(seed, n=45, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.3 + 0.1 * rng.standard_normal(n)
    return X, y


def _classification(seed, n=45, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


FIT_SCHEDULES = [
    schedules.Constant(0.05),
    schedules.InverseScaling(0.08, power_t=0.5),
    schedules.Exponential(0.08, gamma=0.97),
    schedules.Step(0.08, step_size=7, gamma=0.5),   # 7 < rows: steps inside an epoch for sgd
    schedules.Cosine(0.08, t_max=40, eta_min=0.005),
    schedules.Cosine(0.08, t_max=12),  # eta_min = 0: step size 0 after 12 updates
]

FIT_CONFIGS = [
    ("batch", "gd", {}),
    ("batch", "nesterov", {"momentum": 0.8}),
    ("sgd", "gd", {}),
    ("sgd", "adam", {}),
    ("minibatch", "gd", {}),
    ("minibatch", "momentum", {"momentum": 0.5}),
    ("minibatch", "adamw", {"weight_decay": 0.1}),
]


def _compare(a, b):
    assert a.n_iter == b.n_iter
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.intercept, b.intercept, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method,optimizer,hyper", FIT_CONFIGS, ids=[f"{m}-{o}" for m, o, _ in FIT_CONFIGS])
@pytest.mark.parametrize("schedule", FIT_SCHEDULES, ids=lambda s: type(s).__name__)
def test_fit_with_schedule_matches_reference(schedule, method, optimizer, hyper):
    X, y = _regression(31)
    kw = dict(method=method, optimizer=optimizer, learning_rate=schedule, max_iter=25, tol=None,
              batch_size=8, fit_intercept=True, seed=5, **hyper)
    got = descend.fit(X, y, **kw)
    ref = reference.fit(X, y, **kw)
    assert got.n_iter == 25
    _compare(got, ref)
    if not isinstance(schedule, schedules.Constant):
        # the schedule was used: a constant eta0 gives another result
        const = reference.fit(X, y, **{**kw, "learning_rate": schedule(0)})
        assert np.max(np.abs(const.coef - ref.coef)) > 1e-6
    else:
        np.testing.assert_array_equal(got.coef, descend.fit(X, y, **{**kw, "learning_rate": 0.05}).coef)


@pytest.mark.parametrize("method", ["batch", "sgd", "minibatch"])
def test_fit_with_schedule_logistic_and_float32(method):
    X, y = _classification(32)
    schedule = schedules.Step(0.5, step_size=10, gamma=0.7)
    kw = dict(loss="logistic", method=method, learning_rate=schedule, max_iter=15, tol=None,
              batch_size=10, seed=1, fit_intercept=True)
    _compare(descend.fit(X, y, **kw), reference.fit(X, y, **kw))
    got32 = descend.fit(X.astype(np.float32), y, **kw)
    ref = reference.fit(X.astype(np.float32).astype(np.float64), y, **kw)
    assert got32.coef.dtype == np.float32
    np.testing.assert_allclose(got32.coef, ref.coef, rtol=1e-4, atol=1e-5)


def test_minibatch_clock_counts_updates_by_hand():
    """shuffle=False, 3 mini-batches per epoch, 2 epochs: updates t = 0..5 use
    eta0 * gamma^t in turn (the clock does not restart at each epoch, nor
    count epochs)."""
    X, y = _regression(33, n=30, d=3)
    eta0, gamma = 0.1, 0.5
    schedule = schedules.Step(eta0, step_size=1, gamma=gamma)
    res = descend.fit(X, y, method="minibatch", batch_size=10, shuffle=False, max_iter=2, tol=None,
                      learning_rate=schedule)
    coef = np.zeros(3)
    t = 0
    for _epoch in range(2):
        for start in range(0, 30, 10):
            Xb, yb = X[start:start + 10], y[start:start + 10]
            grad = 2.0 / len(yb) * Xb.T @ (Xb @ coef - yb)
            coef = coef - eta0 * gamma**t * grad
            t += 1
    np.testing.assert_allclose(res.coef, coef, rtol=1e-12)
    # clock counting epochs instead would give another answer
    alt = np.zeros(3)
    for epoch in range(2):
        for start in range(0, 30, 10):
            Xb, yb = X[start:start + 10], y[start:start + 10]
            alt = alt - eta0 * gamma**epoch * 2.0 / 10 * Xb.T @ (Xb @ alt - yb)
    assert np.max(np.abs(alt - coef)) > 1e-4


def test_batch_clock_by_hand():
    X, y = _regression(34, n=25, d=3)
    schedule = schedules.Cosine(0.2, t_max=6, eta_min=0.01)
    res = descend.fit(X, y, method="batch", max_iter=10, tol=None, learning_rate=schedule)
    coef = np.zeros(3)
    history = []
    for t in range(10):
        r = X @ coef - y
        history.append(np.mean(r**2))
        coef = coef - formula("Cosine", t, eta0=0.2, t_max=6, eta_min=0.01) * 2.0 / 25 * X.T @ r
    np.testing.assert_allclose(res.coef, coef, rtol=1e-12)
    np.testing.assert_allclose(res.loss_history, history, rtol=1e-12)
