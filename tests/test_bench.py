"""The benchmark suite runs (a smoke run: nothing here asserts a time)."""

import json

from descend import bench


def test_quick_run_prints_the_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "W0,W4", "--repeats", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for contender in ("descend", "numpy reference", "descend.optim.Adam", "memory floor", "numpy in-place adam"):
        assert contender in text
    data = json.loads(out.read_text())
    rows = {(r["workload"].split()[0], r["contender"]) for r in data["rows"]}
    assert ("W0", "descend") in rows and ("W4", "descend.optim.Adam") in rows
    assert all(r["median"] > 0 and len(r["seconds"]) >= 1 for r in data["rows"])


def test_numpy_adam_baseline_is_adam():
    # The baseline must do Adam's arithmetic, or the comparison means nothing.
    import numpy as np

    from descend import reference

    g = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    step = bench._numpy_adam(50, g)
    rule = reference.Rule("adam", 50)
    p = np.zeros(50)
    for _ in range(3):
        step()
        p = rule.step(p, g.astype(np.float64), 1e-3)
    closure = dict(zip(step.__code__.co_freevars, (c.cell_contents for c in step.__closure__)))
    np.testing.assert_allclose(closure["p"], p, rtol=1e-5, atol=1e-8)


def test_unknown_workload_is_an_error(capsys):
    import pytest

    with pytest.raises(SystemExit):
        bench.main(["--only", "W99"])
    assert "W99" in capsys.readouterr().err


def test_per_build_rows_name_every_build_and_the_default(capsys):
    # WB times each build in a child process (DESCEND_ISA forced) beside the default pick.
    from descend import _core

    assert bench.main(["--quick", "--only", "WB", "--repeats", "1"]) == 0
    text = capsys.readouterr().out
    for isa in _core.cpu_supports():
        assert f"descend DESCEND_ISA={isa}" in text
    assert f"descend default ({_core.ISA})" in text
    assert text.count("the fastest other build") == 4  # one verdict per row: W1 f64 C, F, f32, W2
