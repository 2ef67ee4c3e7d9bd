"""descend.GDRegressor and descend.GDClassifier: scikit-learn's own estimator
checks, and quality against scikit-learn's solvers on the same data."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")  # a test dependency; importorskip only names it

from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import descend
from descend import GDClassifier, GDRegressor

def _cannot_apply(estimator):
    """The checks that cannot hold for an estimator (README, "scikit-learn estimators")."""
    if estimator._learning_rate() == "bb" and isinstance(estimator, GDRegressor):  # (the classifier meets it here)
        why = ("Barzilai-Borwein steps amplify rounding: weighted and repeated rows reach the same optimum along "
               "different paths, and meet to gtol's accuracy, not to the check's 1e-7")
        return {f"check_sample_weight_equivalence_on_{kind}_data": why for kind in ("dense", "sparse")}
    if estimator.method != "sgd":  # (minibatch too, once a batch is smaller than the data)
        return {}
    why = ("sgd/minibatch visit a repeated row twice an epoch, a row of weight 2 once with twice "
           "the step: the same objective, not the same iterates")
    return {f"check_sample_weight_equivalence_on_{kind}_data": why for kind in ("dense", "sparse")}


@parametrize_with_checks(
    [
        GDRegressor(),
        GDRegressor(loss="huber", method="minibatch", optimizer="adam", learning_rate=0.05),
        GDClassifier(),
        GDClassifier(loss="hinge", learning_rate=0.1),
        GDClassifier(loss="softmax", method="sgd", learning_rate=0.05, max_iter=50),
    ],
    expected_failed_checks=_cannot_apply,
)
# scikit-learn's checks fit with a few iterations, ending at max_iter on
# purpose; test_convergence_warning_when_max_iter_ends_the_fit checks the warning.
@pytest.mark.filterwarnings("ignore:GD(Regressor|Classifier) stopped at max_iter")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _standard_classification(n_classes, seed, n=400, d=6):
    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=4, n_redundant=0, n_classes=n_classes,
        n_clusters_per_class=1, random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("seed", [0, 1])
def test_regressor_matches_linear_regression(seed):
    X, y = make_regression(n_samples=500, n_features=8, noise=5.0, random_state=seed)
    X = StandardScaler().fit_transform(X)
    ours = GDRegressor(optimizer="nesterov", l2=0.0, tol=None, gtol=1e-9, max_iter=20000).fit(X, y)
    theirs = LinearRegression().fit(X, y)
    assert ours.converged_
    assert abs(ours.score(X, y) - theirs.score(X, y)) <= 1e-6
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 3])
def test_logistic_matches_scikit_learn(seed):
    X, y = _standard_classification(2, seed)
    C = 0.5
    ours = GDClassifier(l2=1.0 / (C * len(y)), optimizer="nesterov", tol=None, gtol=1e-10, max_iter=50000)
    ours.fit(X, y)
    theirs = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-4)
    assert ours.score(X, y) == theirs.score(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("loss", ["softmax", "logistic"])
def test_multiclass_matches_multinomial_logistic_regression(loss):
    X, y = _standard_classification(4, 2)
    C = 1.0
    ours = GDClassifier(loss, l2=1.0 / (C * len(y)), optimizer="nesterov", tol=None, gtol=1e-10,
                        max_iter=50000).fit(X, y)
    theirs = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape == (4, X.shape[1])
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_binary_softmax_is_logistic_on_the_difference():
    X, y = _standard_classification(2, 5)
    soft = GDClassifier("softmax", l2=0.01, gtol=1e-10, tol=None, max_iter=20000).fit(X, y)
    theirs = LogisticRegression(C=1.0 / (0.01 * len(y)), tol=1e-12).fit(X, y)
    # two-class softmax with l2 on both columns = logistic with l2/2 on their difference
    proba = soft.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert soft.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(soft.decision_function(X) > 0, theirs.decision_function(X) > 0)


def test_hinge_one_vs_rest_is_k_binary_fits():
    X, y = _standard_classification(3, 4)
    with warnings.catch_warnings():  # tol=None: a fixed 200 epochs, the plan (no ConvergenceWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        ovr = GDClassifier("hinge", learning_rate=0.05, max_iter=200, tol=None, l2=0.0).fit(X, y)
    assert ovr.coef_.shape == (3, X.shape[1]) and ovr.intercept_.shape == (3,)
    for c in range(3):
        one = descend.fit(X, (y == c).astype(float), loss="hinge", learning_rate=0.05, max_iter=200, tol=None,
                          fit_intercept=True)
        np.testing.assert_allclose(ovr.coef_[c], one.coef, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ovr.intercept_[c], one.intercept, rtol=1e-12, atol=1e-14)
    assert not hasattr(ovr, "predict_proba")
    assert ovr.score(X, y) > 0.8


def test_string_labels_and_float32():
    X, y = _standard_classification(3, 6)
    labels = np.array(["cat", "dog", "emu"])[y]
    X32 = X.astype(np.float32)
    clf = GDClassifier().fit(X32, labels)
    assert clf.coef_.dtype == np.float32 and clf.intercept_.dtype == np.float32
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    assert set(clf.predict(X32)) <= {"cat", "dog", "emu"}
    ref = GDClassifier().fit(X, y)  # float64 twin: the same model to float32 precision
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-3, atol=1e-4)
    reg = GDRegressor().fit(X32, X32 @ np.arange(X.shape[1], dtype=np.float32))
    assert reg.coef_.dtype == np.float32 and reg.predict(X32).dtype == np.float32


# Rows sum to one at any iterate: a short fit, ending at max_iter on purpose.
@pytest.mark.filterwarnings("ignore:GD(Regressor|Classifier) stopped at max_iter")
def test_predict_proba_rows_sum_to_one():
    X, y = load_iris(return_X_y=True)
    clf = GDClassifier(max_iter=200).fit(StandardScaler().fit_transform(X), y)
    proba = clf.predict_proba(StandardScaler().fit_transform(X))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(StandardScaler().fit_transform(X))), proba, rtol=1e-10)


def test_pipeline_and_grid_search():
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    X = X * np.array([1.0, 100.0, 0.01, 10.0, 1.0]) + 3.0  # badly scaled: the scaler matters
    pipe = make_pipeline(StandardScaler(), GDClassifier(max_iter=300))
    search = GridSearchCV(pipe, {"gdclassifier__l2": [0.0, 1e-3, 1e-1]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.8
    assert search.best_estimator_.score(X, y) > 0.8


# Identical predictions at any iterate: short fits, ending at max_iter on purpose.
@pytest.mark.filterwarnings("ignore:GD(Regressor|Classifier) stopped at max_iter")
def test_clone_and_pickle_give_identical_predictions():
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=1)
    reg = GDRegressor(method="sgd", learning_rate=0.01, max_iter=20, random_state=7).fit(X, y)
    again = clone(reg).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    Xc, yc = _standard_classification(3, 1)
    clf = GDClassifier(max_iter=100).fit(Xc, yc)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(Xc), clf.predict_proba(Xc))


def test_partial_fit_is_one_epoch_at_a_time():
    X, y = make_regression(n_samples=150, n_features=3, noise=1.0, random_state=2)
    # Streaming both: under precompute="auto" a 3-iteration fit of this
    # shape takes the Gram path, which rounds differently.
    stepwise = GDRegressor(learning_rate=0.05, precompute=False)
    for _ in range(3):
        stepwise.partial_fit(X, y)
    whole = GDRegressor(learning_rate=0.05, max_iter=3, tol=None, precompute=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole.fit(X, y)
    assert stepwise.n_iter_ == 3 and len(stepwise.loss_curve_) == 3
    np.testing.assert_array_equal(stepwise.coef_, whole.coef_)
    np.testing.assert_array_equal(stepwise.loss_curve_, whole.loss_curve_)


def test_classifier_partial_fit_needs_classes_first():
    X, y = _standard_classification(3, 7)
    clf = GDClassifier(learning_rate=0.1)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    clf.partial_fit(X[200:], y[200:])
    assert clf.n_iter_ == 2 and clf.coef_.shape == (3, X.shape[1])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)


def test_convergence_warning_when_max_iter_ends_the_fit():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        reg = GDRegressor(max_iter=2).fit(X, y)
    assert not reg.converged_ and reg.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert GDRegressor().fit(X, y).converged_


def test_early_stopping_keeps_the_best_validation_score():
    X, y = _standard_classification(2, 8, n=1000)
    flip = np.random.default_rng(0).random(len(y)) < 0.2  # label noise: validation accuracy plateaus
    y = np.where(flip, 1 - y, y)
    clf = GDClassifier(method="sgd", learning_rate=0.05, early_stopping=True, n_iter_no_change=3,
                       max_iter=200, random_state=0).fit(X, y)
    assert clf.converged_ and clf.n_iter_ < 200
    with pytest.raises(ValueError, match="validation_fraction"):
        GDClassifier(early_stopping=True, validation_fraction=1.5).fit(X, y)


# The same weights give the same iterates: short fits, ending at max_iter on purpose.
@pytest.mark.filterwarnings("ignore:GD(Regressor|Classifier) stopped at max_iter")
def test_class_weight_balanced_is_its_sample_weights():
    X, y = _standard_classification(2, 9)
    keep = (y == 1) | (np.arange(len(y)) % 3 == 0)  # imbalance
    X, y = X[keep], y[keep]
    balanced = GDClassifier(class_weight="balanced", max_iter=300).fit(X, y)
    counts = np.bincount(y)
    manual = GDClassifier(max_iter=300).fit(X, y, sample_weight=(len(y) / (2 * counts))[y])
    np.testing.assert_allclose(balanced.coef_, manual.coef_, rtol=1e-12)


def test_warm_start_continues_from_the_last_fit():
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=3)
    reg = GDRegressor(warm_start=True, learning_rate=0.01, max_iter=5, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
        first = reg.loss_curve_[-1]
        reg.fit(X, y)
    assert reg.loss_curve_[0] < first + 1e-12  # started where the first fit ended


def test_feature_names_from_dataframes():
    pd = pytest.importorskip("pandas")
    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reg = GDRegressor().fit(frame, y)
    np.testing.assert_array_equal(reg.feature_names_in_, ["a", "b", "c"])
    assert reg.n_features_in_ == 3


def test_bad_parameters_name_themselves():
    X, y = make_regression(n_samples=20, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="loss"):
        GDRegressor(loss="logistic").fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        GDClassifier(loss="squared").fit(X, y > 0)
    with pytest.raises(TypeError, match="momentum"):
        GDRegressor(optimizer="adam", momentum=0.5).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        GDClassifier(loss="hinge").fit(X, y > 0)  # "auto" needs a smooth loss


def test_import_error_names_the_extra_without_scikit_learn():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import descend\n"
        "try:\n    descend.GDRegressor\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "descend[sklearn]" in out


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("make", [
    pytest.param(lambda: GDClassifier(l2=1e-3), id="classifier-batch"),
    pytest.param(lambda: GDClassifier(method="sgd", learning_rate=0.05, max_iter=5, tol=None, random_state=0),
                 id="classifier-sgd"),
    pytest.param(lambda: GDRegressor(method="minibatch", learning_rate=0.01, max_iter=5, tol=None, random_state=0),
                 id="regressor-minibatch"),
])
@pytest.mark.filterwarnings("ignore:GD(Regressor|Classifier) stopped at max_iter")
def test_sparse_x_fits_and_predicts_as_its_dense_twin(fmt, make):
    import scipy.sparse as sp

    rng = np.random.default_rng(11)
    Xd = rng.standard_normal((120, 15)) * (rng.random((120, 15)) < 0.3)
    Xs = getattr(sp, f"{fmt}_matrix")(Xd)
    est_d, est_s = make(), make()
    y = (Xd @ rng.standard_normal(15) > 0).astype(int) + (Xd[:, 0] > 0.5)  # 3 classes
    if isinstance(est_d, GDRegressor):
        y = Xd @ rng.standard_normal(15)
    est_d.fit(Xd, y)
    est_s.fit(Xs, y)
    np.testing.assert_allclose(est_s.coef_, est_d.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est_s.intercept_, est_d.intercept_, rtol=1e-9, atol=1e-12)
    if isinstance(est_d, GDClassifier):
        np.testing.assert_array_equal(est_s.predict(Xs), est_d.predict(Xd))
        np.testing.assert_allclose(est_s.decision_function(Xs), est_d.decision_function(Xd), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(est_s.predict_proba(Xs), est_d.predict_proba(Xd), rtol=1e-9, atol=1e-12)
        est_d.partial_fit(Xd, y)
        est_s.partial_fit(Xs, y)
    else:
        np.testing.assert_allclose(est_s.predict(Xs), est_d.predict(Xd), rtol=1e-9, atol=1e-12)
        est_d.partial_fit(Xd, y)
        est_s.partial_fit(Xs, y)
    np.testing.assert_allclose(est_s.coef_, est_d.coef_, rtol=1e-9, atol=1e-12)
