"""The command line end to end: `descend fit` and `descend predict` run as
subprocesses on real files written here, in every format, against
descend.fit called in this process on the same numbers; the errors' exit
statuses and one-line messages; --save/predict, --json, --plot, --progress
and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import descend
from descend import _commands
from descend._defaults import FIT

RTOL = 1e-12


def cli(*args, cwd=None, check=True, timeout=180, prelude=""):
    """Runs `python -m descend ARGS` (or, with a prelude, main(ARGS) after
    the prelude's Python lines) and returns the CompletedProcess."""
    if prelude:
        code = f"{prelude}\nimport sys\nfrom descend._cli import main\nsys.exit(main({list(map(str, args))!r}))"
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "descend", *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def fails(proc, status, *needles):
    """Exit `status`, one line on stderr holding every needle, no traceback."""
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def regression_frame(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ rng.standard_normal(3) + 2.0 + 0.1 * rng.standard_normal(n)
    w = rng.uniform(0.5, 2.0, n)
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "w": w, "y": y})


def classification_frame(seed=0, n=300, classes=("ham", "spam")):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    scores = X @ rng.standard_normal((3, len(classes)))
    labels = np.asarray(classes)[np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)]
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "label": labels})


def write_csv(frame, path, sep=","):
    frame.to_csv(path, sep=sep, index=False, float_format="%.17g")
    return path


def read_predictions(path):
    return pd.read_csv(path)


def fit_here(X, y, **options):
    """descend.fit as the command line calls it (an intercept by default)."""
    options.setdefault("fit_intercept", True)
    X = X if hasattr(X, "tocsr") else np.asarray(X, np.float64)
    return descend.fit(X, np.asarray(y, np.float64), **options)


FAST = ("--learning-rate", "0.1", "--max-iter", "200")


# ------------------------------------------------------------ every format


@pytest.mark.parametrize("fmt", ["csv", "tsv", "semicolon", "parquet", "npy", "npz-X", "npz-columns"])
def test_fit_save_predict_every_table_format(tmp_path, fmt):
    frame = regression_frame(seed=1)
    features = ["a", "b", "c"]
    if fmt == "csv":
        data, target = write_csv(frame, tmp_path / "d.csv"), "y"
    elif fmt == "tsv":
        data, target = write_csv(frame, tmp_path / "d.tsv", sep="\t"), "y"
    elif fmt == "semicolon":
        data, target = write_csv(frame, tmp_path / "d.txt", sep=";"), "y"
    elif fmt == "parquet":
        data, target = tmp_path / "d.parquet", "y"
        frame.to_parquet(data)
    elif fmt == "npy":  # columns by position; the target the last
        data, target = tmp_path / "d.npy", "-1"
        np.save(data, frame[["a", "b", "c", "y"]].to_numpy())
        features = ["0", "1", "2"]
    elif fmt == "npz-X":
        data, target = tmp_path / "d.npz", "y"
        np.savez(data, X=frame[features].to_numpy(), y=frame["y"].to_numpy(), feature_names=np.array(features))
    else:
        data, target = tmp_path / "d.npz", "y"
        np.savez(data, **{k: frame[k].to_numpy() for k in ["a", "b", "c", "y"]})
    model = tmp_path / "model.json"
    out = cli("fit", data, "--target", target, "--features", ",".join(features), "--save", model, "--json", *FAST)
    summary = json.loads(out.stdout)
    expected = fit_here(frame[["a", "b", "c"]].to_numpy(), frame["y"], learning_rate=0.1, max_iter=200)
    np.testing.assert_allclose([summary["coef"][f] for f in features], expected.coef, rtol=RTOL)
    np.testing.assert_allclose(summary["intercept"], expected.intercept, rtol=RTOL)
    assert summary["outcome"]["n_iter"] == expected.n_iter
    assert summary["outcome"]["status"] == expected.status
    np.testing.assert_allclose(summary["outcome"]["objective"], expected.loss_history[-1], rtol=RTOL)

    cli("predict", model, data, "-o", tmp_path / "p.csv")
    saved = descend.load_model(model)
    X = frame[["a", "b", "c"]].to_numpy()
    predictions = read_predictions(tmp_path / "p.csv").iloc[:, 0].to_numpy()
    np.testing.assert_allclose(predictions, X @ saved.coef + saved.intercept, rtol=RTOL)
    np.testing.assert_allclose(saved.coef, expected.coef, rtol=RTOL)


def test_predict_matches_features_by_name_and_writes_stdout(tmp_path):
    frame = regression_frame(seed=2)
    cli("fit", write_csv(frame, tmp_path / "train.csv"), "--target", "y", "--features", "a,b,c",
        "--save", tmp_path / "m.json", *FAST)
    shuffled = frame[["c", "w", "a", "b"]]  # other order, an extra column, no target
    out = cli("predict", tmp_path / "m.json", write_csv(shuffled, tmp_path / "new.csv"))
    model = descend.load_model(tmp_path / "m.json")
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "y"
    np.testing.assert_allclose(np.array(lines[1:], float),
                               frame[["a", "b", "c"]].to_numpy() @ model.coef + model.intercept, rtol=RTOL)


def libsvm_text(X, labels, base=1):
    lines = []
    for row, label in zip(X, labels):
        cells = [f"{j + base}:{v:.17g}" for j, v in enumerate(row) if v != 0.0]
        lines.append(" ".join([f"{label:g}"] + cells))
    return "\n".join(lines) + "\n"


def sparse_problem(seed=3, n=400, d=30):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.2)
    labels = np.where(X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n) > 0, 1, -1)
    return X, labels


def test_libsvm_classification_is_sparse_and_predicts_probabilities(tmp_path):
    import scipy.sparse as sp

    X, labels = sparse_problem()
    data = tmp_path / "train.svm"
    data.write_text("# a LIBSVM file\n" + libsvm_text(X, labels))
    model = tmp_path / "m.json"
    out = cli("fit", data, "--loss", "logistic", "--save", model, "--json", *FAST)
    summary = json.loads(out.stdout)
    assert summary["classes"] == [-1, 1]
    assert summary["features"] == [str(j) for j in range(1, X.shape[1] + 1)]
    expected = fit_here(sp.csr_matrix(X), (labels == 1).astype(float), loss="logistic", learning_rate=0.1,
                        max_iter=200)
    np.testing.assert_allclose(list(summary["coef"].values()), expected.coef, rtol=RTOL)

    cli("predict", model, data, "--proba", "-o", tmp_path / "p.csv")
    proba = read_predictions(tmp_path / "p.csv")
    assert list(proba.columns) == ["-1", "1"]
    score = X @ expected.coef + expected.intercept
    np.testing.assert_allclose(proba["1"].to_numpy(), 1.0 / (1.0 + np.exp(-score)), rtol=1e-12)
    cli("predict", model, data, "-o", tmp_path / "labels.csv")
    np.testing.assert_array_equal(read_predictions(tmp_path / "labels.csv").iloc[:, 0], np.where(score > 0, 1, -1))


def test_libsvm_predict_on_a_file_with_fewer_features(tmp_path):
    X, labels = sparse_problem(seed=4)
    (tmp_path / "train.svm").write_text(libsvm_text(X, labels))
    cli("fit", tmp_path / "train.svm", "--loss", "hinge", "--save", tmp_path / "m.json", *FAST)
    narrow = X[:, :10]
    (tmp_path / "test.svm").write_text(libsvm_text(narrow, labels[: len(narrow)]))
    cli("predict", tmp_path / "m.json", tmp_path / "test.svm", "-o", tmp_path / "p.csv")
    model = descend.load_model(tmp_path / "m.json")
    score = narrow @ model.coef[:10] + model.intercept
    np.testing.assert_array_equal(read_predictions(tmp_path / "p.csv").iloc[:, 0], np.where(score > 0, 1, -1))


@pytest.mark.parametrize("loss, classes", [("logistic", ("ham", "spam")), ("softmax", ("cat", "dog", "emu"))])
def test_classification_with_text_labels(tmp_path, loss, classes):
    frame = classification_frame(seed=5, classes=classes)
    data = write_csv(frame, tmp_path / "d.csv")
    out = cli("fit", data, "--target", "label", "--loss", loss, "--save", tmp_path / "m.json", "--json", *FAST)
    summary = json.loads(out.stdout)
    assert summary["classes"] == sorted(classes)
    index = np.searchsorted(sorted(classes), frame["label"].to_numpy())
    expected = fit_here(frame[["a", "b", "c"]].to_numpy(), index, loss=loss, learning_rate=0.1, max_iter=200)
    np.testing.assert_allclose(np.array(list(summary["coef"].values())), expected.coef, rtol=RTOL)

    cli("predict", tmp_path / "m.json", data, "-o", tmp_path / "labels.csv")
    scores = frame[["a", "b", "c"]].to_numpy() @ expected.coef + expected.intercept
    best = (scores > 0).astype(int) if loss == "logistic" else np.argmax(scores, axis=1)
    np.testing.assert_array_equal(read_predictions(tmp_path / "labels.csv").iloc[:, 0],
                                  np.asarray(sorted(classes))[best])
    cli("predict", tmp_path / "m.json", data, "--proba", "-o", tmp_path / "proba.csv")
    proba = read_predictions(tmp_path / "proba.csv")
    assert list(proba.columns) == sorted(classes)
    np.testing.assert_allclose(proba.to_numpy().sum(axis=1), 1.0, rtol=1e-12)


def test_standardize_reports_original_units(tmp_path):
    frame = regression_frame(seed=6)
    frame["a"] = 1000.0 * frame["a"] + 50.0  # badly scaled
    data = write_csv(frame, tmp_path / "d.csv")
    out = cli("fit", data, "--target", "y", "--features", "a,b,c", "--standardize", "--json",
              "--save", tmp_path / "m.json", *FAST)
    summary = json.loads(out.stdout)
    assert summary["standardized"]
    X = frame[["a", "b", "c"]].to_numpy()
    mean, scale = X.mean(axis=0), X.std(axis=0)
    z = fit_here((X - mean) / scale, frame["y"], learning_rate=0.1, max_iter=200)
    coef = np.array([summary["coef"][f] for f in "abc"])
    np.testing.assert_allclose(X @ coef + summary["intercept"], ((X - mean) / scale) @ z.coef + z.intercept,
                               rtol=1e-9)
    model = descend.load_model(tmp_path / "m.json")
    np.testing.assert_allclose(model.scaling["scale"], scale, rtol=1e-12)
    np.testing.assert_allclose(model.coef, coef, rtol=RTOL)


def test_weights_and_solver_flags_reach_fit(tmp_path):
    frame = regression_frame(seed=7)
    data = write_csv(frame, tmp_path / "d.csv")
    out = cli("fit", data, "--target", "y", "--weight", "w", "--json", "--method", "minibatch", "--batch-size",
              "16", "--optimizer", "adam", "--beta-1", "0.8", "--learning-rate", "0.05", "--max-iter", "7",
              "--tol", "none", "--l2", "0.01", "--seed", "11", "--threads", "1", "--average", "5")
    summary = json.loads(out.stdout)
    assert summary["features"] == ["a", "b", "c"]
    expected = fit_here(frame[["a", "b", "c"]].to_numpy(), frame["y"], sample_weight=frame["w"].to_numpy(),
                        method="minibatch", batch_size=16, optimizer="adam", beta_1=0.8, learning_rate=0.05,
                        max_iter=7, tol=None, l2=0.01, seed=11, average=5)
    np.testing.assert_allclose(list(summary["coef"].values()), expected.coef, rtol=RTOL)
    assert summary["outcome"]["n_iter"] == 7 and summary["outcome"]["unit"] == "epochs"


def test_text_summary_names_each_feature(tmp_path):
    frame = regression_frame(seed=8)
    out = cli("fit", write_csv(frame, tmp_path / "d.csv"), "--target", "y", *FAST)
    text = out.stdout
    for name in ["a", "b", "c", "w", "(intercept)", "objective", "iterations", "wall time"]:
        assert name in text, (name, text)
    assert out.stderr == ""


def test_every_fit_option_is_a_flag():
    flagged = {flag.option for flag in _commands.FLAGS}
    for name in FIT:
        assert name in flagged or name in _commands.NOT_FLAGS, name
    for name in descend._defaults.HYPER_PARAMS:
        assert name in flagged, name


def test_console_script_runs():
    script = Path(sys.executable).with_name("descend")
    assert script.exists(), f"no console script next to {sys.executable}"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == descend.__version__


# ------------------------------------------------- plot and progress


def test_plot_writes_the_loss_curve(tmp_path):
    import matplotlib.image

    frame = regression_frame(seed=9)
    cli("fit", write_csv(frame, tmp_path / "d.csv"), "--target", "y", "--plot", tmp_path / "curve.png", *FAST)
    image = matplotlib.image.imread(tmp_path / "curve.png")
    assert image.shape[:2] == (480, 640)  # save_loss_curve's 6.4 x 4.8 in at 100 dpi
    pixels = image[..., :3].reshape(-1, 3)
    assert len(np.unique(np.round(pixels, 2), axis=0)) > 10  # a curve, axes and text, not a blank canvas


def test_progress_bar_on_stderr_only_when_asked(tmp_path):
    data = write_csv(regression_frame(seed=10), tmp_path / "d.csv")
    quiet = cli("fit", data, "--target", "y", *FAST)
    assert quiet.stderr == ""
    loud = cli("fit", data, "--target", "y", "--progress", *FAST)
    assert "200" in loud.stderr and "objective" not in loud.stdout.splitlines()[0]
    assert loud.stdout.splitlines()[1:] and "wall time" in loud.stdout


def test_ctrl_c_exits_130_without_traceback(tmp_path):
    rng = np.random.default_rng(11)
    np.save(tmp_path / "big.npy", rng.standard_normal((100_000, 20)))
    proc = subprocess.Popen([sys.executable, "-m", "descend", "fit", str(tmp_path / "big.npy"), "--target", "0",
                             "--max-iter", "100000000", "--tol", "none", "--learning-rate", "1e-6", "--progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        started = False
        while time.monotonic() < deadline and not started:
            time.sleep(0.5)
            started = proc.poll() is None and _progress_seen(proc)
        assert started, "the fit did not start"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


def _progress_seen(proc) -> bool:
    """Whether the child has written to stderr (its progress bar)."""
    import select

    ready, _, _ = select.select([proc.stderr], [], [], 0)
    return bool(ready)


# --------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    fails(cli("fit", tmp_path / "nope.csv", "--target", "y", check=False), 2, "nope.csv", "no such file")


def test_unreadable_format(tmp_path):
    (tmp_path / "junk.npy").write_bytes(b"\x00\x01 not numpy")
    fails(cli("fit", tmp_path / "junk.npy", "--target", "0", check=False), 2, "junk.npy", "not a valid .npy array file")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    fails(cli("fit", tmp_path / "junk.parquet", "--target", "y", check=False), 2, "junk.parquet", "Parquet")


def test_missing_target_column_and_missing_target_flag(tmp_path):
    data = write_csv(regression_frame(), tmp_path / "d.csv")
    fails(cli("fit", data, "--target", "price", check=False), 2, "no column 'price'", "--target", "a, b, c")
    fails(cli("fit", data, check=False), 2, "--target is required")
    fails(cli("fit", data, "--target", "y", "--features", "a,zz", check=False), 2, "'zz'")


def test_non_numeric_feature_is_named(tmp_path):
    frame = regression_frame()
    frame["city"] = "Paris"
    data = write_csv(frame, tmp_path / "d.csv")
    fails(cli("fit", data, "--target", "y", check=False), 2, "column 'city' is not numeric", "row 1", "Paris")
    fails(cli("fit", data, "--target", "y", "--features", "city", check=False), 2, "'city'")


def test_empty_and_nan_cells_are_counted_with_the_first_row(tmp_path):
    frame = regression_frame()
    frame.loc[[6, 9], "b"] = np.nan
    frame.loc[4, "y"] = np.nan
    data = write_csv(frame, tmp_path / "d.csv")
    fails(cli("fit", data, "--target", "y", check=False), 2, "3 empty, NaN or infinite cells", "row 5 (line 6)",
          "column 'y'")


def test_empty_file_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    fails(cli("fit", tmp_path / "empty.csv", "--target", "y", check=False), 2, "empty")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    fails(cli("fit", tmp_path / "header.csv", "--target", "y", check=False), 2, "no data rows")


@pytest.mark.parametrize("flags, needles", [
    (["--learning-rate", "abc"], ["--learning-rate", "'abc'"]),
    (["--loss", "cubic"], ["--loss", "cubic"]),
    (["--l2", "-1"], ["--l2", "-1"]),
    (["--max-iter", "0"], ["--max-iter", "integer >= 1"]),
    (["--bogus"], ["--bogus"]),
])
def test_bad_flag_values(tmp_path, flags, needles):
    data = write_csv(regression_frame(), tmp_path / "d.csv")
    fails(cli("fit", data, "--target", "y", *flags, check=False), 2, *needles)


def test_bad_option_is_reported_before_the_file_is_read(tmp_path):
    # the file does not exist: the option's error comes first
    fails(cli("fit", tmp_path / "nope.csv", "--target", "y", "--l2", "-1", check=False), 2, "--l2")


def test_divergence_exits_1_with_a_suggestion(tmp_path):
    frame = regression_frame()
    frame["a"] *= 1e4
    data = write_csv(frame, tmp_path / "d.csv")
    line = fails(cli("fit", data, "--target", "y", "--learning-rate", "1", check=False), 1, "diverged")
    assert "--learning-rate auto" in line and "--standardize" in line


def test_classifier_label_errors(tmp_path):
    frame = classification_frame(classes=("a", "b", "c"))
    data = write_csv(frame, tmp_path / "d.csv")
    fails(cli("fit", data, "--target", "label", "--loss", "logistic", check=False), 2, "3 classes", "softmax")
    fails(cli("fit", data, "--target", "label", check=False), 2, "not numeric", "--loss logistic")


def test_predict_errors(tmp_path):
    frame = regression_frame()
    data = write_csv(frame, tmp_path / "d.csv")
    model = tmp_path / "m.json"
    cli("fit", data, "--target", "y", "--features", "a,b,c", "--save", model, *FAST)
    fails(cli("predict", model, write_csv(frame[["a", "c"]], tmp_path / "lacks.csv"), check=False), 2,
          "no column 'b'", "model's features")
    texty = frame.assign(y=np.where(frame["y"] > 0, "up", "down"))
    fails(cli("predict", model, write_csv(texty, tmp_path / "texty.csv"), check=False), 2,
          "holds text", "fit on numbers")
    fails(cli("predict", model, data, "--proba", check=False), 2, "squared")
    newer = json.loads(model.read_text())
    newer["format_version"] = 99
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    fails(cli("predict", tmp_path / "newer.json", data, check=False), 2, "newer")
    fails(cli("predict", tmp_path / "none.json", data, check=False), 2, "none.json")
    fails(cli("predict", data, data, check=False), 2, "d.csv")


def test_malformed_libsvm_names_the_line(tmp_path):
    (tmp_path / "bad.svm").write_text("1 1:0.5 2:1\n-1 3:x\n")
    fails(cli("fit", tmp_path / "bad.svm", "--loss", "logistic", check=False), 2, "line 2", "'x'")
    (tmp_path / "order.svm").write_text("1 4:0.5 2:1\n")
    fails(cli("fit", tmp_path / "order.svm", "--loss", "logistic", check=False), 2, "line 1", "increasing")


# ------------------------------------------ without the optional pieces

NO_PANDAS = "import sys; sys.modules['pandas'] = None"


def test_plain_csv_without_pandas_gives_the_same_fit(tmp_path):
    frame = regression_frame(seed=12)
    data = write_csv(frame, tmp_path / "d.csv")
    with_pandas = json.loads(cli("fit", data, "--target", "y", "--json", *FAST).stdout)
    without = json.loads(cli("fit", data, "--target", "y", "--json", *FAST, prelude=NO_PANDAS).stdout)
    assert without["coef"] == with_pandas["coef"] and without["intercept"] == with_pandas["intercept"]
    frame["city"] = "Paris"
    fails(cli("fit", write_csv(frame, tmp_path / "t.csv"), "--target", "y", check=False, prelude=NO_PANDAS), 2,
          "column 'city' is not numeric")


def test_missing_optional_pieces_name_the_extra(tmp_path):
    frame = regression_frame()
    frame.to_parquet(tmp_path / "d.parquet")
    fails(cli("fit", tmp_path / "d.parquet", "--target", "y", check=False, prelude=NO_PANDAS), 2, "descend[cli]")
    data = write_csv(frame, tmp_path / "d.csv")
    fails(cli("fit", data, "--target", "y", "--plot", tmp_path / "c.png", *FAST, check=False,
              prelude="import sys; sys.modules['matplotlib'] = None"), 2, "descend[cli]")
    plain = cli("fit", data, "--target", "y", "--progress", *FAST, prelude="import sys; sys.modules['tqdm'] = None")
    assert "descend:" in plain.stderr and "200" in plain.stderr
