"""One owner per concept: the C++ core owns the names, the defaults, the
checks and the messages; every Python entry point takes them from it.

Each test here fails if a second copy creeps back in and drifts: a
default written in a Python signature that differs from the core's, a
rule the Python classes do not know, a check with its own rule.
"""

import dataclasses
import inspect

import numpy as np
import pytest

import descend
from descend import _core, optim, reference, schedules
from descend._defaults import DEFAULT_L2, FIT, HYPER_PARAMS, RULES

from conftest import BATCH_ONLY_OPTIMIZERS, LOSSES, METHODS, OPTIMIZERS

RULE_CLASSES = {cls.name: cls for cls in (optim.GD, optim.Momentum, optim.Nesterov, optim.Adagrad,
                                          optim.RMSprop, optim.Adam, optim.AdamW)}


def _defaults(fn) -> dict:
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


# ---------------------------------------------------------------- names


def test_the_python_classes_cover_exactly_the_cores_rules():
    assert _core.OPTIMIZERS == OPTIMIZERS + BATCH_ONLY_OPTIMIZERS
    assert tuple(RULE_CLASSES) == OPTIMIZERS
    assert tuple(optim._BY_NAME) == OPTIMIZERS


@pytest.mark.parametrize("kind, names, known", [
    ("loss", _core.LOSSES, LOSSES),
    ("method", _core.METHODS, METHODS),
])
def test_unknown_names_list_the_cores_choices(kind, names, known):
    assert names == known
    X, y = np.ones((4, 2)), np.zeros(4)
    with pytest.raises(ValueError) as e:
        descend.fit(X, y, **{kind: "nope"})
    assert str(e.value) == f"unknown {kind} 'nope'; expected one of " + ", ".join(f"'{n}'" for n in names)


def test_the_schedule_classes_are_the_cores_schedules():
    assert set(_core.SCHEDULES) == set(descend.schedules.__all__) - {"Schedule"}
    for name in _core.SCHEDULES:
        assert issubclass(getattr(descend.schedules, name), descend.schedules.Schedule)


# ---------------------------------------------------------------- defaults


def test_fit_signature_defaults_are_the_cores_fit_options():
    core = _core.fit_defaults()
    mine = _defaults(descend.fit)
    # n_threads: Python's None is the core's 0 ("all cores"), the one spelling each side has.
    assert mine["n_threads"] is None and core["n_threads"] == 0
    shared = set(core) & set(mine) - {"n_threads"}
    assert shared >= {"loss", "method", "optimizer", "learning_rate", "batch_size", "max_iter", "tol",
                      "n_iter_no_change", "gtol", "l2", "l1", "fit_intercept", "shuffle", "seed", "delta",
                      "check_finite"}
    for name in shared:
        assert mine[name] == core[name], name
    # The reference takes the same defaults, so an unpinned reference run is the same problem.
    ref = _defaults(reference.fit)
    for name in set(ref) & set(core):
        assert ref[name] == core[name], name


@pytest.mark.parametrize("rule", OPTIMIZERS)
def test_optim_signature_defaults_are_the_cores_rule_defaults(rule):
    defaults = _core.optimizer_defaults()[rule]
    sig = _defaults(RULE_CLASSES[rule])
    assert sig["lr"] == defaults["lr"]
    for name, value in defaults.items():
        assert sig[name] == value, (rule, name)
    # The objects report the core's values too, and so does the reference.
    opt = RULE_CLASSES[rule](np.zeros(3))
    assert opt.hyper_params == {k: v for k, v in defaults.items() if k != "lr"}
    assert opt.lr == defaults["lr"] and opt.current_lr() == defaults["lr"]
    assert reference.DEFAULTS[rule] == opt.hyper_params


def test_the_estimators_take_the_cores_defaults_and_know_every_hyper_parameter():
    pytest.importorskip("sklearn")
    for est in (descend.GDRegressor, descend.GDClassifier):
        sig = _defaults(est)
        for name in ("batch_size", "n_iter_no_change", "l1", "shuffle"):
            assert sig[name] == FIT[name], (est.__name__, name)
        # The estimators' own defaults, those that converge out of the box (README).
        assert (sig["max_iter"], sig["tol"], sig["gtol"], sig["learning_rate"]) == ("auto", "auto", "auto", None)
        assert sig["l2"] == DEFAULT_L2
        assert set(HYPER_PARAMS) <= set(sig), est.__name__
    assert set(HYPER_PARAMS) == {k for d in RULES.values() for k in d} - {"lr"}


# ---------------------------------------------------------------- checks


def _quadratic(x):
    return float(x @ x), 2 * x


@pytest.mark.parametrize("call", [
    pytest.param(lambda: descend.fit(np.ones((4, 2)), np.zeros(4), optimizer="adam", momentum=0.5), id="fit"),
    pytest.param(lambda: descend.minimize(_quadratic, np.ones(2), method="adam", momentum=0.5), id="minimize"),
    pytest.param(lambda: optim.Adam(np.ones(2), momentum=0.5), id="optim"),
    pytest.param(lambda: descend.GDRegressor(optimizer="adam", momentum=0.5).fit(np.ones((4, 2)), np.zeros(4)),
                 id="estimator"),
])
def test_an_unknown_hyper_parameter_is_a_type_error_naming_it_everywhere(call):
    if "estimator" in str(call):
        pytest.importorskip("sklearn")
    with pytest.raises(TypeError, match="momentum"):
        call()


@pytest.mark.parametrize("value, ok", [(-1, False), (0, True), (1, True)])
def test_max_iter_follows_one_rule_everywhere(value, ok):
    X, y = np.ones((4, 2)), np.arange(4.0)
    calls = {
        "fit": lambda: descend.fit(X, y, max_iter=value),
        "minimize": lambda: descend.minimize(_quadratic, np.ones(2), max_iter=value),
        "core monitor": lambda: _core.StoppingMonitor(max_iter=value, tol=None, n_iter_no_change=1, gtol=None),
    }
    for name, call in calls.items():
        if ok:
            call()
        else:
            with pytest.raises(ValueError, match=r"max_iter must be >= 0, got -1"):
                call()
    if ok and value == 0:
        res = descend.fit(X, y, max_iter=0, coef0=[1.0, 2.0])
        assert res.n_iter == 0 and res.status == "max_iter"
        np.testing.assert_array_equal(res.coef, [1.0, 2.0])
        sol = descend.minimize(_quadratic, np.ones(2), max_iter=0)
        assert sol.nit == 0 and sol.status == 1
        np.testing.assert_array_equal(sol.x, np.ones(2))


@pytest.mark.parametrize("kw, match", [
    ({"tol": -1.0}, "tol must be a finite number >= 0"),
    ({"gtol": float("nan")}, "gtol must be a finite number >= 0"),
    ({"n_iter_no_change": 0}, "n_iter_no_change must be >= 1"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
])
def test_fit_and_minimize_share_the_cores_checks_and_messages(kw, match):
    with pytest.raises(ValueError, match=match):
        descend.fit(np.ones((4, 2)), np.zeros(4), **kw)
    with pytest.raises(ValueError, match=match):
        descend.minimize(_quadratic, np.ones(2), **kw)


def test_one_rule_for_the_learning_rate():
    # A constant must be > 0 wherever it is given (fit, minimize, optim);
    # a schedule may still decay to exactly 0 at a later step.
    for bad in (0.0, -1e-3, float("inf")):
        with pytest.raises(ValueError, match=r"lr must be a finite number > 0"):
            optim.Adam(np.ones(2), lr=bad)
        opt = optim.Adam(np.ones(2))
        with pytest.raises(ValueError, match=r"lr must be a finite number > 0"):
            opt.lr = bad
        assert opt.lr == RULES["adam"]["lr"]  # a refused rate leaves the old one in place
    p = np.ones(2)
    opt = optim.GD(p, lr=descend.schedules.Cosine(eta0=0.1, t_max=1))
    opt.step(np.ones(2))
    assert opt.current_lr() == 0.0
    before = p.copy()
    opt.step(np.ones(2))
    np.testing.assert_array_equal(p, before)


def test_minimize_reports_with_the_cores_messages():
    sol = descend.minimize(_quadratic, np.ones(2), method="gd", learning_rate=0.1, max_iter=3, gtol=None)
    assert sol.message == ("stopped after max_iter=3 steps without meeting the tolerance; "
                           "raise max_iter or the learning rate")
    sol = descend.minimize(_quadratic, np.ones(2), method="gd", learning_rate=0.1, gtol=None, tol=1e-3)
    assert sol.message.startswith("converged: relative change of the objective <= tol for 1 check(s) in a row")
    with pytest.raises(descend.DivergenceError) as e:
        descend.minimize(_quadratic, np.ones(2), method="gd", learning_rate=10.0, max_iter=10_000)
    assert "with learning_rate=10 and method='gd'; try a smaller learning_rate, e.g. 1" in str(e.value)


# ---------------------------------------------------------------- optimizer state lives in the core


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_optim_state_is_a_view_of_the_cores_buffers(dtype, order):
    rng = np.random.default_rng(7)
    p = np.asarray(rng.standard_normal((5, 3)), dtype, order=order)
    g = np.asarray(rng.standard_normal((5, 3)), dtype, order=order)
    opt = optim.Adam(p, lr=1e-2)
    m, v = opt.state[0]
    assert m.shape == p.shape and m.dtype == dtype and not m.flags.owndata
    opt.step(g)
    # The views see the core's update: m = (1 - beta_1) g, v = (1 - beta_2) g^2 after one step.
    rule = reference.Rule("adam", p.size)
    rule.step(np.zeros(p.size), g.astype(np.float64).ravel(order="K"), 1e-2)
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(m.ravel(order="K"), rule.s0, rtol=tol)
    np.testing.assert_allclose(v.ravel(order="K"), rule.s1, rtol=tol)
    assert opt.t == 1
    del opt  # the views keep the core's buffers alive
    np.testing.assert_allclose(m.ravel(order="K"), rule.s0, rtol=tol)


def test_state_dict_round_trip_continues_the_cores_clock_and_state():
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(6) for _ in range(8)]
    a, b = np.zeros(6), np.zeros(6)
    first = optim.Adam(a, lr=descend.schedules.Exponential(eta0=0.1, gamma=0.9))
    for g in grads[:4]:
        first.step(g)
    saved = first.state_dict()
    b[:] = a
    second = optim.Adam(b, lr=1.0, beta_1=0.5)  # different rule and rate: load replaces both
    second.load_state_dict(saved)
    assert second.t == 4 and second.hyper_params == first.hyper_params and second.lr == first.lr
    for g in grads[4:]:
        first.step(g)
        second.step(g)
    np.testing.assert_array_equal(a, b)


def test_pytorch_aliases_match_the_scikit_learn_names():
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(4) for _ in range(5)]
    a, b = np.zeros(4), np.zeros(4)
    ours = optim.AdamW(a, lr=0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    torch_names = optim.AdamW(b, lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    assert ours.hyper_params == torch_names.hyper_params
    for g in grads:
        ours.step(g)
        torch_names.step(g)
    np.testing.assert_array_equal(a, b)
    assert optim.RMSprop(np.zeros(2), eps=1e-3).hyper_params["epsilon"] == 1e-3
    with pytest.raises(TypeError, match="betas"):
        optim.Adam(np.zeros(2), betas=0.9)


@pytest.mark.parametrize("name", _core.SCHEDULES)
def test_schedule_defaults_are_the_cores(name):
    # Every default a schedule class declares is descend::Schedule's field of that name.
    fields = [f for f in dataclasses.fields(getattr(schedules, name)) if f.default is not dataclasses.MISSING]
    core = _core.schedule_defaults()
    for f in fields:
        assert f.default == core[f.name], (name, f.name)
