"""descend.optim: the update rules over the user's own arrays (DESIGN.md §2-§5).

Every rule is compared step by step with the plain-NumPy oracle
``descend.reference.Rule`` (float64), and the oracle itself is checked
against PyTorch's documented algorithms written out below, so a mistake
shared by the core and the oracle would still be caught.

float32 tolerances: the core keeps float32 parameters *and* state in
float32 (rounding after every step) while the oracle works in float64, so
after ~50 steps the two agree to a few float32 ulps of the parameters'
scale (rtol 1e-5), not to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

from descend import optim, reference, schedules

from conftest import seed_of

CLASSES = {
    "gd": optim.GD,
    "momentum": optim.Momentum,
    "nesterov": optim.Nesterov,
    "adagrad": optim.Adagrad,
    "rmsprop": optim.RMSprop,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
}

# PyTorch's default learning rates; torch.optim.SGD has none, descend uses 1e-3.
DEFAULT_LR = {"gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 1e-2, "rmsprop": 1e-2,
              "adam": 1e-3, "adamw": 1e-3}

NON_DEFAULT = {
    "gd": {},
    "momentum": {"momentum": 0.5},
    "nesterov": {"momentum": 0.7},
    "adagrad": {"epsilon": 1e-3},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-4},
    "adam": {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-4},
    "adamw": {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6, "weight_decay": 0.3},
}

SLOTS = {"gd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2, "adamw": 2}

CASES = [(name, "default") for name in CLASSES] + [(name, "custom") for name in CLASSES if NON_DEFAULT[name]]
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])

N_STEPS = 50


def assert_close(actual, expected, dtype, err_msg=""):
    """Within float64 or float32 rounding of a ~50-step run, relative to the values' scale."""
    expected = np.asarray(expected, np.float64)
    scale = max(1.0, float(np.max(np.abs(expected))))
    if np.dtype(dtype) == np.float64:
        rtol, atol = 1e-12, 1e-14 * scale
    else:
        rtol, atol = 1e-5, 1e-6 * scale
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=atol, err_msg=err_msg)


def make_param(rng, layout, dtype):
    if layout == "1d":
        return rng.standard_normal(37).astype(dtype)
    return np.asarray(rng.standard_normal((9, 6)), dtype=dtype, order=layout)


def run_reference(name, p0, grads, lrs, **hyper):
    """The oracle over the flattened float64 copy; returns (params, rule)."""
    rule = reference.Rule(name, p0.size, **hyper)
    q = np.asarray(p0, np.float64).ravel()
    for g, lr in zip(grads, lrs):
        q = rule.step(q, np.asarray(g, np.float64).ravel(), lr)
    return q.reshape(p0.shape), rule


# ---------------------------------------------------------------------------
# 1. every rule against the oracle, updating in place


@DTYPES
@pytest.mark.parametrize("layout", ["C", "F", "1d"])
@pytest.mark.parametrize("name,hyper_kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_rule_matches_reference_random_gradients(name, hyper_kind, layout, dtype):
    rng = np.random.default_rng(seed_of(name, hyper_kind, layout, np.dtype(dtype).name))
    hyper = NON_DEFAULT[name] if hyper_kind == "custom" else {}
    p = make_param(rng, layout, dtype)
    p_start = p.copy()
    address = p.__array_interface__["data"][0]
    ident = id(p)
    lr = 0.03
    grads = [np.asarray(rng.standard_normal(p.shape), dtype=dtype, order="F" if layout == "F" else "C")
             for _ in range(N_STEPS)]

    opt = CLASSES[name](p, lr=lr, **hyper)
    assert opt.hyper_params == {**reference.DEFAULTS[name], **hyper}
    for g in grads:
        opt.step(g)
    q, rule = run_reference(name, p_start, grads, [lr] * N_STEPS, **hyper)

    # in place: same object, same buffer, same dtype and layout
    assert opt.params[0] is p and id(p) == ident
    assert np.shares_memory(opt.params[0], p)
    assert p.__array_interface__["data"][0] == address
    assert p.dtype == np.dtype(dtype) and p.shape == p_start.shape
    assert p.flags.f_contiguous if layout == "F" else p.flags.c_contiguous
    assert opt.t == N_STEPS

    # it moved (a kernel that did nothing fails here), and moved as the oracle did
    assert np.max(np.abs(p.astype(np.float64) - p_start)) > 1e-2
    assert_close(p, q, dtype, err_msg=f"{name} {hyper}")

    # the state buffers: the parameter's dtype, shape and layout, the oracle's values
    assert len(opt.state) == 1 and len(opt.state[0]) == SLOTS[name]
    for s, e in zip(opt.state[0], [rule.s0, rule.s1]):
        assert s.dtype == np.dtype(dtype), "state must stay in the parameter's dtype"
        assert s.shape == p.shape
        assert s.flags.f_contiguous if layout == "F" else s.flags.c_contiguous
        assert np.max(np.abs(e)) > 1e-3
        assert_close(s.ravel(), e, dtype)


@DTYPES
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("name", list(CLASSES))
def test_rule_matches_reference_on_a_quadratic(name, layout, dtype):
    """Gradients of f(P) = 1/2 tr(P^T A P) - tr(B^T P) at the current parameters."""
    rng = np.random.default_rng(seed_of("quadratic", name, layout, np.dtype(dtype).name))
    d, k = 8, 5
    M = rng.standard_normal((d, d))
    A = M @ M.T / d + np.eye(d)
    B = rng.standard_normal((d, k))
    p = np.asarray(rng.standard_normal((d, k)), dtype=dtype, order=layout)
    p_start = p.copy()
    lr = 0.02
    f = lambda P: 0.5 * np.sum(P * (A @ P)) - np.sum(B * P)  # noqa: E731

    opt = CLASSES[name](p, lr=lr)
    rule = reference.Rule(name, p.size)
    q = p_start.astype(np.float64).ravel()
    for _ in range(N_STEPS):
        g = np.asarray(A @ p - B, dtype=dtype)
        # float64: the oracle follows its own path; float32: it is fed the
        # core's gradient, so float32 rounding does not feed back through A
        g_ref = A @ q.reshape(d, k) - B if dtype == np.float64 else g.astype(np.float64)
        opt.step(g)
        q = rule.step(q, g_ref.ravel(), lr)
    assert np.max(np.abs(p.astype(np.float64) - p_start)) > 1e-2
    assert_close(p, q.reshape(d, k), dtype)
    assert f(p.astype(np.float64)) < f(p_start.astype(np.float64))


@pytest.mark.parametrize("name", list(CLASSES))
def test_default_learning_rates_and_hyper_parameters(name):
    rng = np.random.default_rng(seed_of("defaults", name))
    p = rng.standard_normal(11)
    p_start = p.copy()
    opt = CLASSES[name](p)
    assert opt.lr == DEFAULT_LR[name]
    assert opt.hyper_params == reference.DEFAULTS[name]
    grads = [rng.standard_normal(11) for _ in range(5)]
    for g in grads:
        opt.step(g)
    q, _ = run_reference(name, p_start, grads, [DEFAULT_LR[name]] * 5)
    assert_close(p, q, np.float64)
    assert not np.allclose(p, p_start)


def test_a_view_into_a_larger_buffer_is_updated_there():
    rng = np.random.default_rng(5)
    big = rng.standard_normal((6, 4))
    before = big.copy()
    rows = big[2:4]  # C-contiguous view
    g = rng.standard_normal(rows.shape)
    optim.Adam(rows, lr=0.1).step(g)
    q, _ = run_reference("adam", before[2:4], [g], [0.1])
    assert_close(big[2:4], q, np.float64)
    np.testing.assert_array_equal(big[:2], before[:2])
    np.testing.assert_array_equal(big[4:], before[4:])


# ---------------------------------------------------------------------------
# 2. the definitions, written out as PyTorch documents them (independent of
#    descend.reference, which is checked here too)


def torch_documented(name, p, grads, lr, h):
    """torch.optim's documented algorithms (maximize=False, dampening=0,
    lr_decay=0, initial_accumulator_value=0, centered=False, amsgrad=False),
    written as in the docs. Returns the parameters after each step."""
    p = np.array(p, np.float64)
    out, buf, state_sum, square_avg, m, v = [], None, 0.0, 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, np.float64)
        if name in ("gd", "momentum", "nesterov"):
            if name != "gd":
                mu = h["momentum"]
                buf = g.copy() if t == 1 else mu * buf + g  # torch: b_1 = g
                g = g + mu * buf if name == "nesterov" else buf
            p = p - lr * g
        elif name == "adagrad":
            state_sum = state_sum + g * g
            p = p - lr * g / (np.sqrt(state_sum) + h["epsilon"])
        elif name == "rmsprop":
            alpha = h["rho"]
            square_avg = alpha * square_avg + (1 - alpha) * g * g
            p = p - lr * g / (np.sqrt(square_avg) + h["epsilon"])
        else:
            b1, b2, eps = h["beta_1"], h["beta_2"], h["epsilon"]
            if name == "adamw":
                p = p - lr * h["weight_decay"] * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("hyper_kind", ["default", "custom"])
@pytest.mark.parametrize("name", list(CLASSES))
def test_core_and_reference_follow_pytorchs_documented_algorithm(name, hyper_kind):
    rng = np.random.default_rng(seed_of("torch-doc", name, hyper_kind))
    hyper = NON_DEFAULT[name] if hyper_kind == "custom" else {}
    h = {**reference.DEFAULTS[name], **hyper}
    p0 = rng.standard_normal(13)
    grads = [rng.standard_normal(13) for _ in range(6)]
    lr = 0.07
    expected = torch_documented(name, p0, grads, lr, h)

    p = p0.copy()
    opt = CLASSES[name](p, lr=lr, **hyper)
    rule = reference.Rule(name, p0.size, **hyper)
    q = p0.copy()
    for g, e in zip(grads, expected):
        opt.step(g)
        q = rule.step(q, g, lr)
        np.testing.assert_allclose(p, e, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(q, e, rtol=1e-13, atol=1e-15)
    assert not np.allclose(p, p0)


def test_adam_first_two_steps_by_hand():
    """Bias correction makes step 1 exactly lr g / (|g| + eps); epsilon is added
    outside the square root. A large epsilon tells the variants apart."""
    rng = np.random.default_rng(11)
    lr, b1, b2, eps = 0.1, 0.8, 0.9, 0.1
    p0 = rng.standard_normal(9)
    g1, g2 = rng.standard_normal(9), rng.standard_normal(9)

    p1 = p0 - lr * g1 / (np.abs(g1) + eps)
    m2 = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v2 = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    p2 = p1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)

    # the formula discriminates: epsilon inside the root, or no bias correction, differ
    assert not np.allclose(p1, p0 - lr * g1 / np.sqrt(g1**2 + eps))
    assert not np.allclose(p1, p0 - lr * (1 - b1) * g1 / (np.sqrt((1 - b2) * g1**2) + eps))

    p = p0.copy()
    opt = optim.Adam(p, lr=lr, beta_1=b1, beta_2=b2, epsilon=eps)
    rule = reference.Rule("adam", 9, beta_1=b1, beta_2=b2, epsilon=eps)
    opt.step(g1)
    q = rule.step(p0, g1, lr)
    np.testing.assert_allclose(p, p1, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(q, p1, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(opt.state[0][0], (1 - b1) * g1, rtol=1e-15)
    np.testing.assert_allclose(opt.state[0][1], (1 - b2) * g1**2, rtol=1e-15)
    opt.step(g2)
    q = rule.step(q, g2, lr)
    np.testing.assert_allclose(p, p2, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(q, p2, rtol=1e-14, atol=1e-16)


def test_adamw_decay_is_decoupled():
    rng = np.random.default_rng(12)
    lr, wd = 0.05, 0.4
    p0 = rng.standard_normal(10)

    # zero gradients: the Adam part is 0 / (0 + eps) = 0, only the decay acts
    p = p0.copy()
    opt = optim.AdamW(p, lr=lr, weight_decay=wd)
    for t in range(1, 8):
        opt.step(np.zeros(10))
        np.testing.assert_allclose(p, p0 * (1 - lr * wd) ** t, rtol=1e-14)
    q, _ = run_reference("adamw", p0, [np.zeros(10)] * 7, [lr] * 7, weight_decay=wd)
    np.testing.assert_allclose(q, p0 * (1 - lr * wd) ** 7, rtol=1e-14)

    # with gradients: decay first, then the plain Adam step on the decayed p
    g1, g2 = rng.standard_normal(10), rng.standard_normal(10)
    b1, b2, eps = 0.9, 0.999, 1e-8
    d1 = p0 * (1 - lr * wd)
    p1 = d1 - lr * g1 / (np.abs(g1) + eps)
    m2 = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v2 = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    p2 = p1 * (1 - lr * wd) - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    p = p0.copy()
    opt = optim.AdamW(p, lr=lr, weight_decay=wd)
    opt.step(g1)
    np.testing.assert_allclose(p, p1, rtol=1e-14)
    opt.step(g2)
    np.testing.assert_allclose(p, p2, rtol=1e-13)

    # and it is not Adam with an L2 term in the gradient (coupled decay)
    coupled = p0.copy()
    adam = optim.Adam(coupled, lr=lr)
    adam.step(g1 + wd * p0)
    adam.step(g2 + wd * coupled)
    assert not np.allclose(coupled, p, rtol=1e-6, atol=0)


def test_nesterov_steps_by_hand():
    rng = np.random.default_rng(13)
    lr, mu = 0.1, 0.6
    p0 = rng.standard_normal(8)
    g1, g2, g3 = (rng.standard_normal(8) for _ in range(3))
    b1 = g1
    p1 = p0 - lr * (g1 + mu * b1)
    b2 = mu * b1 + g2
    p2 = p1 - lr * (g2 + mu * b2)
    b3 = mu * b2 + g3
    p3 = p2 - lr * (g3 + mu * b3)
    # differs from heavy-ball momentum, which steps along b
    assert not np.allclose(p3, p0 - lr * (b1 + b2 + b3))

    p = p0.copy()
    opt = optim.Nesterov(p, lr=lr, momentum=mu)
    for g, expected, b in ((g1, p1, b1), (g2, p2, b2), (g3, p3, b3)):
        opt.step(g)
        np.testing.assert_allclose(p, expected, rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(opt.state[0][0], b, rtol=1e-14, atol=1e-16)
    q, _ = run_reference("nesterov", p0, [g1, g2, g3], [lr] * 3, momentum=mu)
    np.testing.assert_allclose(q, p3, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adamw"])
def test_list_of_arrays_of_different_shapes_and_dtypes(name):
    rng = np.random.default_rng(seed_of("list", name))
    params = [
        np.asarray(rng.standard_normal((3, 4)), np.float64, order="C"),
        rng.standard_normal(5).astype(np.float32),
        np.asarray(rng.standard_normal((2, 3, 2)), np.float64, order="F"),
        np.asarray(rng.standard_normal((6, 2)), np.float32, order="F"),
        np.asarray(rng.standard_normal(1), np.float64),
    ]
    starts = [p.copy() for p in params]
    ids = [id(p) for p in params]
    lr = 0.04
    opt = CLASSES[name](params, lr=lr)
    refs = [reference.Rule(name, p.size) for p in params]
    qs = [s.astype(np.float64).ravel() for s in starts]
    for k in range(40):
        # gradients as float64 C-ordered arrays, a tuple every other step:
        # they are cast to each parameter's dtype and layout
        grads = [rng.standard_normal(p.shape) for p in params]
        if k % 3 == 2:  # F-ordered gradients for C-ordered parameters and vice versa
            grads = [np.asfortranarray(g) if g.flags.c_contiguous else np.ascontiguousarray(g) for g in grads]
        opt.step(tuple(grads) if k % 2 else grads)
        qs = [r.step(q, g.astype(p.dtype).astype(np.float64).ravel(), lr)
              for r, q, g, p in zip(refs, qs, grads, params)]
    assert [id(p) for p in opt.params] == ids
    for p, s, q, r in zip(params, starts, qs, refs):
        assert p.dtype == s.dtype and p.shape == s.shape
        assert np.max(np.abs(p.astype(np.float64) - s)) > 1e-2
        assert_close(p.ravel(), q, p.dtype)
    for p, slots, r in zip(params, opt.state, refs):
        assert [s.dtype for s in slots] == [p.dtype] * SLOTS[name]
        assert_close(slots[0].ravel(), r.s0, p.dtype)
    assert opt.t == 40


# ---------------------------------------------------------------------------
# 4. the learning rate: reassigned between steps, or a schedule


@DTYPES
@pytest.mark.parametrize("name", ["gd", "nesterov", "adam"])
def test_lr_can_change_between_steps(name, dtype):
    rng = np.random.default_rng(seed_of("lr-change", name, np.dtype(dtype).name))
    p = rng.standard_normal(20).astype(dtype)
    p_start = p.copy()
    opt = CLASSES[name](p, lr=0.1)
    lrs = rng.uniform(0.001, 0.2, size=30)
    grads = [rng.standard_normal(20).astype(dtype) for _ in lrs]
    for lr, g in zip(lrs, grads):
        opt.lr = float(lr)
        assert opt.current_lr() == float(lr)
        opt.step(g)
    q, _ = run_reference(name, p_start, grads, lrs)
    assert_close(p, q, dtype)
    # a constant rate gives another path: the reassignments were used
    r, _ = run_reference(name, p_start, grads, [0.1] * len(lrs))
    assert np.max(np.abs(q - r)) > 1e-3


SCHEDULES = [
    schedules.Constant(0.05),
    schedules.InverseScaling(0.2, power_t=0.5),
    schedules.Exponential(0.1, gamma=0.93),
    schedules.Step(0.1, step_size=4, gamma=0.5),
    schedules.Cosine(0.1, t_max=15, eta_min=0.01),
]


@DTYPES
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("name", ["gd", "momentum", "adamw"])
def test_schedule_as_lr(name, schedule, dtype):
    rng = np.random.default_rng(seed_of("schedule", name, type(schedule).__name__, np.dtype(dtype).name))
    p = rng.standard_normal((5, 4)).astype(dtype)
    p_start = p.copy()
    opt = CLASSES[name](p, lr=schedule)
    assert opt.lr is schedule
    n = 25
    grads = [rng.standard_normal((5, 4)).astype(dtype) for _ in range(n)]
    steps = []
    for t, g in enumerate(grads):
        assert opt.t == t
        assert opt.current_lr() == pytest.approx(reference.schedule_at(schedule, t), rel=1e-14)
        before = p.astype(np.float64)
        opt.step(g)
        steps.append(before - p)
    q, _ = run_reference(name, p_start, grads, [reference.schedule_at(schedule, t) for t in range(n)])
    assert_close(p, q, dtype)
    if name == "gd" and dtype == np.float64:
        # plain gd: each step is exactly eta_t * g, t = 0, 1, ...
        for t, (s, g) in enumerate(zip(steps, grads)):
            np.testing.assert_allclose(s, reference.schedule_at(schedule, t) * g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_schedule_reaching_zero(name):
    """Cosine with eta_min=0 (the default, as in PyTorch's CosineAnnealingLR)
    has step size 0 from t_max on: a valid schedule, so step() keeps working;
    gd's parameters stay put while the moment buffers still follow g."""
    rng = np.random.default_rng(seed_of("zero-lr", name))
    schedule = schedules.Cosine(0.1, t_max=4)
    assert reference.schedule_at(schedule, 4) == schedule(4) == 0.0
    p = rng.standard_normal(6)
    p_start = p.copy()
    opt = CLASSES[name](p, lr=schedule)
    grads = [rng.standard_normal(6) for _ in range(8)]
    for g in grads:
        opt.step(g)
    assert opt.t == 8
    q, rule = run_reference(name, p_start, grads, [reference.schedule_at(schedule, t) for t in range(8)])
    assert_close(p, q, np.float64)
    for s, e in zip(opt.state[0], [rule.s0, rule.s1]):
        assert_close(s, e, np.float64)
    assert not np.allclose(p, p_start)


# ---------------------------------------------------------------------------
# 5. state_dict round trip


@DTYPES
@pytest.mark.parametrize("name", list(CLASSES))
def test_state_dict_round_trip_is_bitwise(name, dtype):
    rng = np.random.default_rng(seed_of("state", name, np.dtype(dtype).name))
    hyper = NON_DEFAULT[name]
    # a schedule makes the step count matter even for plain gd
    lr = schedules.Exponential(0.05, gamma=0.9)
    params = [np.asarray(rng.standard_normal((4, 3)), dtype, order="F"), rng.standard_normal(6).astype(dtype)]
    k, m = 6, 9
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in params] for _ in range(k + m)]
    opt = CLASSES[name](params, lr=lr, **hyper)
    for g in grads[:k]:
        opt.step(g)
    saved_params = [p.copy() for p in params]
    sd = opt.state_dict()
    assert sd["optimizer"] == name and sd["t"] == k
    for g in grads[k:]:
        opt.step(g)
    A = [p.copy() for p in params]

    # a fresh optimizer with other settings, on a copy of the k-step parameters
    copies = [p.copy(order="K") for p in saved_params]
    other = CLASSES[name](copies, lr=0.5)
    other.load_state_dict(sd)
    assert other.t == k
    assert other.hyper_params == opt.hyper_params == {**reference.DEFAULTS[name], **hyper}
    assert other.current_lr() == lr(k)
    for g in grads[k:]:
        other.step(g)
    for a, b in zip(A, copies):
        assert b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)
    for s1, s2 in zip(opt.state, other.state):
        for a, b in zip(s1, s2):
            assert b.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(a, b)

    # without the state the continuation differs: the state_dict carried something
    fresh = [p.copy() for p in saved_params]
    plain = CLASSES[name](fresh, lr=lr, **hyper)
    for g in grads[k:]:
        plain.step(g)
    assert any(not np.array_equal(a, b) for a, b in zip(A, fresh))


def test_state_dict_is_a_copy():
    rng = np.random.default_rng(21)
    p = rng.standard_normal(5)
    opt = optim.Adam(p, lr=0.1)
    opt.step(rng.standard_normal(5))
    sd = opt.state_dict()
    m_saved = sd["state"][0][0].copy()
    opt.step(rng.standard_normal(5))
    np.testing.assert_array_equal(sd["state"][0][0], m_saved)
    assert sd["t"] == 1


def test_load_state_dict_mismatch_raises_and_changes_nothing():
    rng = np.random.default_rng(22)
    p = rng.standard_normal(5)
    adam = optim.Adam(p, lr=0.1)
    adam.step(rng.standard_normal(5))
    sd = adam.state_dict()

    target_p = rng.standard_normal(5)
    other_rule = optim.Momentum(target_p, lr=0.1)
    with pytest.raises(ValueError, match="adam"):
        other_rule.load_state_dict(sd)
    assert other_rule.t == 0 and not other_rule.state[0][0].any()

    for make in (
        lambda: optim.Adam(rng.standard_normal(6), lr=0.1),                              # other size
        lambda: optim.Adam(rng.standard_normal((5, 1)), lr=0.1),                         # other shape
        lambda: optim.Adam([rng.standard_normal(5), rng.standard_normal(5)], lr=0.1),    # other count
    ):
        target = make()
        with pytest.raises(ValueError, match="state"):
            target.load_state_dict(sd)
        assert target.t == 0
        assert all(not s.any() for slots in target.state for s in slots)
        assert target.lr == 0.1


# ---------------------------------------------------------------------------
# 6. errors, raised before anything changes


def _readonly():
    a = np.ones(4)
    a.setflags(write=False)
    return a


@pytest.mark.parametrize(
    "params,exc,match",
    [
        ([1.0, 2.0], TypeError, r"params\[0\].*NumPy array"),
        (3.5, TypeError, r"params\[0\].*NumPy array"),
        (np.arange(4), TypeError, r"params\[0\].*dtype"),
        (np.zeros(10)[::2], TypeError, r"params\[0\].*contiguous"),
        (np.zeros((6, 6))[:, 1:3], TypeError, r"params\[0\].*contiguous"),
        (_readonly(), TypeError, r"params\[0\].*(read-only|writeable)"),
        ([], ValueError, "params"),
        ([np.zeros(3), np.zeros(3, np.float16)], TypeError, r"params\[1\].*dtype"),
    ],
    ids=["list-of-floats", "float", "int-dtype", "strided-1d", "strided-2d", "read-only", "empty", "float16-second"],
)
@pytest.mark.parametrize("name", ["gd", "adam"])
def test_bad_params(name, params, exc, match):
    before = [np.array(p, copy=True) for p in (params if isinstance(params, list) else [params])]
    with pytest.raises(exc, match=match):
        CLASSES[name](params, lr=0.1)
    after = params if isinstance(params, list) else [params]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


HYPER_ERRORS = [
    ("momentum", {"momentum": 1.5}, ValueError, "momentum"),
    ("momentum", {"momentum": -0.1}, ValueError, "momentum"),
    ("nesterov", {"momentum": 1.5}, ValueError, "momentum"),
    ("adam", {"beta_1": 1.0}, ValueError, "beta_1"),
    ("adamw", {"beta_1": 1.0}, ValueError, "beta_1"),
    ("adam", {"beta_2": 1.0}, ValueError, "beta_2"),
    ("adam", {"epsilon": 0}, ValueError, "epsilon"),
    ("adagrad", {"epsilon": 0}, ValueError, "epsilon"),
    ("rmsprop", {"epsilon": 0}, ValueError, "epsilon"),
    ("rmsprop", {"rho": 1.0}, ValueError, "rho"),
    ("adamw", {"weight_decay": -1}, ValueError, "weight_decay"),
    ("adam", {"beta_1": "x"}, TypeError, "beta_1"),
    ("gd", {"lr": 0}, ValueError, r"\blr\b"),
    ("adam", {"lr": -1}, ValueError, r"\blr\b"),
    ("momentum", {"lr": "x"}, TypeError, r"\blr\b"),
    ("adagrad", {"lr": float("nan")}, ValueError, r"\blr\b"),
    ("rmsprop", {"lr": float("inf")}, ValueError, r"\blr\b"),
    ("adam", {"n_threads": 0}, ValueError, "n_threads"),
]


@pytest.mark.parametrize("name,kwargs,exc,match", HYPER_ERRORS,
                         ids=[f"{n}-{next(iter(k))}={next(iter(k.values()))}" for n, k, _, _ in HYPER_ERRORS])
def test_bad_hyper_parameters(name, kwargs, exc, match):
    p = np.random.default_rng(1).standard_normal(4)
    before = p.copy()
    kwargs = {"lr": 0.1, **kwargs}
    with pytest.raises(exc, match=match):
        CLASSES[name](p, **kwargs)
    np.testing.assert_array_equal(p, before)


@pytest.mark.parametrize("value,exc", [(0, ValueError), (-1, ValueError), ("x", TypeError), (None, TypeError)])
def test_bad_lr_assignment_keeps_the_old_rate(value, exc):
    rng = np.random.default_rng(2)
    p = rng.standard_normal(4)
    opt = optim.Adam(p, lr=0.1)
    with pytest.raises(exc, match=r"\blr\b"):
        opt.lr = value
    assert opt.lr == 0.1
    q = p.copy()
    g = rng.standard_normal(4)
    opt.step(g)
    expected, _ = run_reference("adam", q, [g], [0.1])
    assert_close(p, expected, np.float64)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_bad_gradients_change_nothing(name):
    rng = np.random.default_rng(seed_of("bad-grads", name))
    params = [rng.standard_normal((3, 4)), rng.standard_normal(5).astype(np.float32)]
    opt = CLASSES[name](params, lr=0.1)
    opt.step([rng.standard_normal((3, 4)), rng.standard_normal(5)])  # some state to protect
    snapshot = opt.state_dict()
    p_before = [p.copy() for p in params]
    bad = [
        ([rng.standard_normal((3, 4))], r"1 gradient.*2 parameter"),                     # too few
        ([rng.standard_normal((3, 4)), rng.standard_normal(5), rng.standard_normal(5)], r"3 gradient"),
        ([rng.standard_normal((4, 3)), rng.standard_normal(5)], r"grads\[0\]"),           # transposed
        ([rng.standard_normal((3, 4)), rng.standard_normal(6)], r"grads\[1\]"),           # 2nd wrong: 1st untouched
        ([rng.standard_normal((3, 4)), rng.standard_normal((5, 1))], r"grads\[1\]"),
        (rng.standard_normal((3, 4)), r"1 gradient"),
    ]
    for grads, match in bad:
        with pytest.raises(ValueError, match=match):
            opt.step(grads)
        for p, b in zip(params, p_before):
            np.testing.assert_array_equal(p, b)
        assert opt.t == 1
        for slots, saved in zip(opt.state, snapshot["state"]):
            for s, t in zip(slots, saved):
                np.testing.assert_array_equal(s, t)


# ---------------------------------------------------------------------------
# 7. threads: elementwise updates are bitwise the same for any thread count


@DTYPES
@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_threads_give_bitwise_identical_results(name, dtype):
    rng = np.random.default_rng(seed_of("threads", name, np.dtype(dtype).name))
    n = 300_000  # above the core's 2**16 threshold for a parallel update
    p0 = rng.standard_normal(n).astype(dtype)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(6)]
    results = []
    for n_threads in (1, 2, None):
        p = p0.copy()
        opt = CLASSES[name](p, lr=0.01, n_threads=n_threads)
        for g in grads:
            opt.step(g)
        results.append((p, opt.state[0]))
    for p, state in results[1:]:
        np.testing.assert_array_equal(p, results[0][0])
        for a, b in zip(state, results[0][1]):
            np.testing.assert_array_equal(a, b)
    q, _ = run_reference(name, p0, grads, [0.01] * len(grads))
    assert np.max(np.abs(results[0][0] - p0)) > 1e-3
    assert_close(results[0][0], q, dtype)
