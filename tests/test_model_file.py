"""descend.save_model / descend.load_model: the JSON model file round-trips
every field exactly, and the loaded Model predicts as the fit (descend.fit's
X coef + intercept, the estimators' predict and predict_proba)."""

import json

import numpy as np
import pytest
import scipy.sparse

import descend
from descend._model import FORMAT, FORMAT_VERSION

from conftest import seed_of

REGRESSION = ("squared", "huber")


def rng_for(*parts):
    return np.random.default_rng(seed_of("test_model_file", *parts))


def problem(loss, dtype=np.float64, n=120, d=4, k=3, seed_parts=()):
    """(X, y) for descend.fit with `loss` (labels 0/1, or 0..k-1 for softmax)."""
    rng = rng_for(loss, np.dtype(dtype).name, *seed_parts)
    X = rng.standard_normal((n, d)).astype(dtype)
    if loss in REGRESSION:
        y = X @ rng.standard_normal(d) + 0.5 + 0.1 * rng.standard_normal(n)
    elif loss == "softmax":
        y = np.argmax(X @ rng.standard_normal((d, k)) + rng.standard_normal((n, k)), axis=1)
    else:
        y = (X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


def fit_result(loss, dtype=np.float64):
    X, y = problem(loss, dtype)
    lr = 0.05 if loss == "hinge" else "auto"
    return X, descend.fit(X, y, loss=loss, learning_rate=lr, max_iter=30, tol=None, seed=0, fit_intercept=True)


def assert_same_model(a, b):
    assert a.loss == b.loss
    assert a.coef.dtype == b.coef.dtype == np.float64
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    assert type(a.intercept) is type(b.intercept)
    assert a.feature_names == b.feature_names
    if a.classes is None:
        assert b.classes is None
    else:
        np.testing.assert_array_equal(a.classes, b.classes)
        assert a.classes.dtype == b.classes.dtype
    assert a.scaling == b.scaling
    assert a.options == b.options
    assert a.outcome == b.outcome
    assert a.descend_version == b.descend_version
    assert a.format_version == b.format_version


# ------------------------------------------------------------ from descend.fit


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["squared", "huber", "logistic", "hinge", "softmax"])
def test_fit_result_round_trips_every_field(tmp_path, loss, dtype):
    X, res = fit_result(loss, dtype)
    d = X.shape[1]
    names = [f"col {j}" for j in range(d)]
    scaling = {"mean": np.arange(d, dtype=np.float32) / 3, "scale": list(np.ones(d) / 7)}
    options = {"loss": loss, "max_iter": np.int64(30), "tol": None, "lr": np.float32(0.1)}
    path = tmp_path / "m.json"
    descend.save_model(path, res, loss=loss, feature_names=names, scaling=scaling, options=options,
                       outcome={"seconds": 1.25})
    model = descend.load_model(path)

    assert model.loss == loss
    assert model.feature_names == tuple(names)
    # Exact: float32 values widen to float64 exactly and repr round-trips.
    np.testing.assert_array_equal(model.coef, res.coef.astype(np.float64))
    assert model.coef.shape == res.coef.shape
    if loss == "softmax":
        np.testing.assert_array_equal(model.intercept, np.asarray(res.intercept, dtype=np.float64))
        np.testing.assert_array_equal(model.classes, np.arange(res.coef.shape[1]))
    else:
        assert isinstance(model.intercept, float) and model.intercept == float(res.intercept)
        if loss in REGRESSION:
            assert model.classes is None
        else:
            np.testing.assert_array_equal(model.classes, [0, 1])
    assert model.scaling == {"mean": [float(v) for v in np.arange(d, dtype=np.float32) / 3],
                             "scale": [float(v) for v in np.ones(d) / 7]}
    assert model.options == {"loss": loss, "max_iter": 30, "tol": None, "lr": float(np.float32(0.1))}
    assert model.outcome["n_iter"] == res.n_iter
    assert model.outcome["converged"] == res.converged
    assert model.outcome["status"] == res.status
    assert model.outcome["message"] == res.message
    assert model.outcome["objective"] == float(res.loss_history[-1])
    assert model.outcome["grad_norm"] == float(res.grad_norm)
    assert model.outcome["learning_rate"] == float(res.learning_rate)
    assert model.outcome["seconds"] == 1.25
    assert model.descend_version == descend.__version__
    assert model.format_version == FORMAT_VERSION
    assert np.all(np.asarray(model.intercept) != 0)  # the intercept round trip is not vacuous

    # Saving the loaded model's dict again gives the same model and the same text.
    assert_same_model(model, descend.Model.from_dict(model.to_dict()))
    assert_same_model(model, descend.Model.from_dict(json.loads(path.read_text())))


def test_file_is_readable_json_in_key_order(tmp_path):
    X, res = fit_result("softmax")
    path = tmp_path / "m.json"
    descend.save_model(path, res, loss="softmax", feature_names=["a", "b", "c", "d"], classes=["x", "y", "z"])
    text = path.read_text()
    assert "\n" in text and text.endswith("\n")
    d = json.loads(text)
    assert list(d) == ["format", "format_version", "descend_version", "loss", "features", "coef", "intercept",
                       "classes", "scaling", "options", "outcome"]
    assert d["format"] == FORMAT and d["format_version"] == FORMAT_VERSION
    assert d["features"] == ["a", "b", "c", "d"]
    assert list(d["coef"]) == ["a", "b", "c", "d"]
    assert d["coef"]["c"] == res.coef[2].tolist()
    assert d["intercept"] == res.intercept.tolist()
    assert d["classes"] == ["x", "y", "z"]
    assert d["scaling"] is None


@pytest.mark.parametrize("loss", ["squared", "huber"])
def test_regression_predict_is_x_coef_plus_intercept(tmp_path, loss):
    X, res = fit_result(loss)
    descend.save_model(tmp_path / "m.json", res, loss=loss)
    model = descend.load_model(tmp_path / "m.json")
    assert model.feature_names == ("x0", "x1", "x2", "x3")
    expected = X @ res.coef + res.intercept
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(model.predict(X), model.decision_function(X))
    with pytest.raises(ValueError, match="predict_proba.*loss='" + loss):
        model.predict_proba(X)


def test_classifier_fit_result_predicts_with_its_classes(tmp_path):
    X, res = fit_result("logistic")
    descend.save_model(tmp_path / "b.json", res, loss="logistic", classes=np.array(["no", "yes"]))
    model = descend.load_model(tmp_path / "b.json")
    p = X @ res.coef + res.intercept
    np.testing.assert_array_equal(model.predict(X), np.where(p > 0, "yes", "no"))
    s = 1 / (1 + np.exp(-p))  # 1 - s loses digits where s is near 1: compare those absolutely
    np.testing.assert_allclose(model.predict_proba(X), np.column_stack([1 - s, s]), rtol=1e-12, atol=1e-15)

    X, res = fit_result("softmax")
    descend.save_model(tmp_path / "s.json", res, loss="softmax", classes=[10, 20, 30])
    model = descend.load_model(tmp_path / "s.json")
    P = X @ res.coef + res.intercept
    np.testing.assert_array_equal(model.predict(X), np.array([10, 20, 30])[np.argmax(P, axis=1)])
    E = np.exp(P)
    np.testing.assert_allclose(model.predict_proba(X), E / E.sum(axis=1, keepdims=True), rtol=1e-12)


def test_predict_proba_is_stable_for_large_scores():
    model = descend.Model(loss="logistic", coef=np.array([1.0]), intercept=0.0, feature_names=("a",),
                          classes=[0, 1])
    X = np.array([[-1000.0], [0.0], [1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        proba = model.predict_proba(X)
    np.testing.assert_array_equal(proba, [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    soft = descend.Model(loss="softmax", coef=np.array([[1.0, -1.0]]), intercept=[0.0, 0.0],
                         feature_names=("a",), classes=["u", "v"])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        proba = soft.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(soft.predict(X), ["v", "u", "u"])  # a tie picks the first class


def test_hinge_has_no_predict_proba(tmp_path):
    X, res = fit_result("hinge")
    descend.save_model(tmp_path / "h.json", res, loss="hinge")
    model = descend.load_model(tmp_path / "h.json")
    with pytest.raises(ValueError, match="loss='hinge'"):
        model.predict_proba(X)


# ------------------------------------------------------------ input forms


@pytest.mark.parametrize("loss", ["squared", "logistic", "softmax"])
def test_sparse_f_ordered_and_int_x_predict_as_dense(tmp_path, loss):
    X, res = fit_result(loss)
    descend.save_model(tmp_path / "m.json", res, loss=loss)
    model = descend.load_model(tmp_path / "m.json")
    rng = rng_for("sparse", loss)
    Xs = X * (rng.random(X.shape) < 0.4)
    dense = model.decision_function(Xs)
    assert dense.dtype == np.float64
    for sparse in (scipy.sparse.csr_matrix(Xs), scipy.sparse.csr_array(Xs), scipy.sparse.csc_matrix(Xs)):
        got = model.decision_function(sparse)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == dense.shape
        np.testing.assert_allclose(got, dense, rtol=1e-12, atol=1e-14)
        if loss in REGRESSION:
            np.testing.assert_allclose(model.predict(sparse), model.predict(Xs), rtol=1e-12, atol=1e-14)
        else:
            np.testing.assert_array_equal(model.predict(sparse), model.predict(Xs))
    sparse32 = scipy.sparse.csr_matrix(Xs.astype(np.float32))
    np.testing.assert_allclose(model.decision_function(sparse32), model.decision_function(Xs.astype(np.float32)),
                               rtol=1e-12, atol=1e-14)

    np.testing.assert_allclose(model.decision_function(np.asfortranarray(X)), model.decision_function(X),
                               rtol=1e-12, atol=1e-14)
    Xi = rng.integers(-3, 4, size=X.shape)
    np.testing.assert_allclose(model.decision_function(Xi), Xi.astype(np.float64) @ model.coef + model.intercept,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(model.decision_function(Xi.astype(np.int32)), model.decision_function(Xi))
    np.testing.assert_allclose(model.decision_function(X.astype(np.float32)),
                               X.astype(np.float32).astype(np.float64) @ model.coef + model.intercept,
                               rtol=1e-12, atol=1e-14)


def test_decision_function_checks_x(tmp_path):
    X, res = fit_result("squared")
    descend.save_model(tmp_path / "m.json", res, loss="squared")
    model = descend.load_model(tmp_path / "m.json")
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 4\)"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"X must have shape"):
        model.predict(X[0])
    with pytest.raises(ValueError, match=r"X must have shape"):
        model.predict(scipy.sparse.csr_matrix(X[:, :2]))
    with pytest.raises(TypeError, match="X must hold numbers"):
        model.predict(np.full((2, 4), "a"))


def test_feature_index_reorders_and_names_the_missing():
    model = descend.Model(loss="squared", coef=np.array([1.0, 2.0, 3.0]), intercept=0.5,
                          feature_names=("a", "b", "c"))
    columns = ["c", "extra", "a", "b"]
    index = model.feature_index(columns)
    np.testing.assert_array_equal(index, [2, 3, 0])
    rng = rng_for("feature_index")
    data = rng.standard_normal((5, 4))
    np.testing.assert_allclose(model.predict(data[:, index]),
                               data[:, 2] * 1.0 + data[:, 3] * 2.0 + data[:, 0] * 3.0 + 0.5, rtol=1e-12)
    with pytest.raises(ValueError) as e:
        model.feature_index(["b", "z"])
    assert str(e.value) == "the data lacks feature(s) 'a', 'c' that the model was fit on"
    with pytest.raises(ValueError, match="'b' more than once"):
        model.feature_index(["a", "b", "c", "b"])


def test_model_arrays_are_read_only(tmp_path):
    X, res = fit_result("softmax")
    descend.save_model(tmp_path / "m.json", res, loss="softmax")
    model = descend.load_model(tmp_path / "m.json")
    for arr in (model.coef, model.intercept, model.classes):
        with pytest.raises(ValueError):
            arr[0] = 1
    with pytest.raises(AttributeError):
        model.loss = "squared"


# ------------------------------------------------------------ from the estimators


@pytest.fixture(scope="module")
def estimators():
    pytest.importorskip("sklearn")
    return descend.GDRegressor, descend.GDClassifier


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["squared", "huber"])
def test_regressor_round_trip_and_predict(tmp_path, estimators, loss, dtype):
    GDRegressor, _ = estimators
    X, y = problem(loss, dtype, seed_parts=("est",))
    est = GDRegressor(loss, max_iter=30, tol=None, random_state=0).fit(X, y)
    path = tmp_path / "r.json"
    descend.save_model(path, est)
    model = descend.load_model(path)
    assert model.loss == loss and model.classes is None
    np.testing.assert_array_equal(model.coef, est.coef_.astype(np.float64))
    assert model.intercept == float(est.intercept_[0])
    assert model.feature_names == ("x0", "x1", "x2", "x3")
    assert model.options == json.loads(json.dumps(model.options))
    assert model.options["loss"] == loss and model.options["max_iter"] == 30
    assert model.outcome["n_iter"] == est.n_iter_ and model.outcome["converged"] == est.converged_
    assert model.outcome["objective"] == float(est.loss_curve_[-1])
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(model.predict(X64), est.predict(X64), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.predict(X64), X64 @ model.coef + model.intercept, rtol=1e-12, atol=0)


CLASSIFIER_CASES = [
    ("logistic", ["ham", "spam"]),
    ("hinge", ["ham", "spam"]),
    ("softmax", ["ham", "spam"]),
    ("logistic", [3, 7, 11]),
    ("softmax", ["a", "b", "c"]),
    ("hinge", [-1.0, 0.0, 2.0]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, labels", CLASSIFIER_CASES)
def test_classifier_round_trip_and_predict(tmp_path, estimators, loss, labels, dtype):
    _, GDClassifier = estimators
    k = len(labels)
    X, y_index = problem("softmax" if k > 2 else "logistic", dtype, k=k, seed_parts=("est", loss))
    y = np.array(labels)[y_index.astype(int)]
    lr = 0.05 if loss == "hinge" else "auto"
    est = GDClassifier(loss, learning_rate=lr, max_iter=30, tol=None, random_state=0).fit(X, y)
    path = tmp_path / "c.json"
    descend.save_model(path, est)
    model = descend.load_model(path)

    assert model.loss == loss
    assert model.classes.tolist() == est.classes_.tolist()
    assert [type(c) for c in model.classes.tolist()] == [type(c) for c in est.classes_.tolist()]
    if k == 2:
        assert model.coef.shape == (X.shape[1],)
        np.testing.assert_array_equal(model.coef, est.coef_[0].astype(np.float64))
        assert model.intercept == float(est.intercept_[0])
    else:
        assert model.coef.shape == (X.shape[1], k)
        np.testing.assert_array_equal(model.coef, est.coef_.T.astype(np.float64))
        np.testing.assert_array_equal(model.intercept, est.intercept_.astype(np.float64))

    X64 = X.astype(np.float64)
    predicted = model.predict(X64)
    np.testing.assert_array_equal(predicted, est.predict(X64))
    assert len(set(predicted.tolist())) > 1  # the check is not vacuous
    np.testing.assert_allclose(model.decision_function(X64), est.decision_function(X64), rtol=1e-12, atol=1e-13)
    if loss in ("logistic", "softmax"):
        np.testing.assert_allclose(model.predict_proba(X64), est.predict_proba(X64), rtol=1e-12, atol=1e-15)
    else:
        with pytest.raises(ValueError, match="loss='hinge'"):
            model.predict_proba(X64)


def test_estimator_feature_names_come_from_the_dataframe(tmp_path, estimators):
    pd = pytest.importorskip("pandas")
    GDRegressor, _ = estimators
    X, y = problem("squared", seed_parts=("frame",))
    frame = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    est = GDRegressor(max_iter=20, tol=None).fit(frame, y)
    descend.save_model(tmp_path / "m.json", est)
    model = descend.load_model(tmp_path / "m.json")
    assert model.feature_names == ("w", "x", "y", "z")
    shuffled = frame[["z", "y", "x", "w"]]
    np.testing.assert_allclose(model.predict(shuffled.to_numpy()[:, model.feature_index(shuffled.columns)]),
                               est.predict(frame), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ errors


def saved(tmp_path, loss="logistic"):
    X, res = fit_result(loss)
    path = tmp_path / "m.json"
    descend.save_model(path, res, loss=loss)
    return path, json.loads(path.read_text())


def test_newer_format_version_is_refused(tmp_path):
    path, d = saved(tmp_path)
    d["format_version"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError) as e:
        descend.load_model(path)
    assert str(e.value) == (f"{path} was written by a newer descend (format version {FORMAT_VERSION + 1}; "
                            f"this descend reads up to {FORMAT_VERSION}): upgrade descend")


@pytest.mark.parametrize("content", ['{"coef": [1, 2]}', '[1, 2]', '{"format": "other"}', '3'])
def test_not_a_model_file(tmp_path, content):
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(ValueError) as e:
        descend.load_model(path)
    assert str(e.value) == f"{path} is not a descend model file"


def test_invalid_json_names_the_file(tmp_path):
    path, _ = saved(tmp_path)
    path.write_text(path.read_text()[:-20])
    with pytest.raises(ValueError, match="m.json is not a descend model file .invalid JSON") as e:
        descend.load_model(path)
    assert isinstance(e.value.__cause__, json.JSONDecodeError)
    assert str(path) in str(e.value)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        descend.load_model(tmp_path / "nope.json")


@pytest.mark.parametrize("key", ["descend_version", "loss", "features", "coef", "intercept", "classes",
                                 "scaling", "options", "outcome"])
def test_missing_key_is_named(tmp_path, key):
    path, d = saved(tmp_path)
    del d[key]
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=f"{path.name}.*'{key}'"):
        descend.load_model(path)
    with pytest.raises(ValueError, match=f"'{key}'"):
        descend.Model.from_dict(d)


def test_bad_values_in_the_file_name_the_file(tmp_path):
    path, d = saved(tmp_path)
    bad = dict(d, coef={k: v for k, v in list(d["coef"].items())[1:]})
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"m\.json: \"coef\" has no entry for feature\(s\) 'x0'"):
        descend.load_model(path)
    path.write_text(json.dumps(dict(d, classes=["only one"])))
    with pytest.raises(ValueError, match=r"m\.json: classes must have 2 labels"):
        descend.load_model(path)
    path.write_text(json.dumps(dict(d, loss="nope")))
    with pytest.raises(ValueError, match=r"m\.json: loss must be one of"):
        descend.load_model(path)


def test_save_errors(tmp_path, estimators):
    GDRegressor, GDClassifier = estimators
    X, res = fit_result("squared")
    path = tmp_path / "m.json"
    with pytest.raises(ValueError, match="loss must be given when model is a descend.FitResult"):
        descend.save_model(path, res)
    with pytest.raises(ValueError, match=r"feature_names must have 4 names.*got 3"):
        descend.save_model(path, res, loss="squared", feature_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="feature_names must be distinct"):
        descend.save_model(path, res, loss="squared", feature_names=["a", "b", "a", "c"])
    with pytest.raises(ValueError, match="classes must be None"):
        descend.save_model(path, res, loss="squared", classes=[0, 1])
    with pytest.raises(ValueError, match="loss must be one of"):
        descend.save_model(path, res, loss="nope")
    with pytest.raises(ValueError, match="pass the loss the model was fit with"):
        descend.save_model(path, res, loss="softmax")
    _, logistic = fit_result("logistic")
    with pytest.raises(ValueError, match=r"classes must have 2 labels.*got 3"):
        descend.save_model(path, logistic, loss="logistic", classes=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"model is an unfitted GDClassifier"):
        descend.save_model(path, GDClassifier())
    with pytest.raises(ValueError, match=r"model is an unfitted GDRegressor"):
        descend.save_model(path, GDRegressor())
    with pytest.raises(TypeError, match=r"model must be a descend.FitResult.*got dict"):
        descend.save_model(path, {"coef": [1.0]})
    fitted = GDRegressor("huber", max_iter=5, tol=None).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="differs from the GDRegressor's loss 'huber'"):
        descend.save_model(path, fitted, loss="squared")
    assert not path.exists()  # nothing was written by a failed save


def test_import_descend_loads_no_heavy_module():
    import subprocess
    import sys

    code = ("import sys, descend; descend.save_model, descend.load_model, descend.Model; "
            "print(sorted(m for m in ('scipy', 'pandas', 'matplotlib', 'tqdm', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
