"""The command line's `fit` and `predict`: a data file in, a model file out,
predictions back (as Vowpal Wabbit's ``vw data -f model`` and LIBLINEAR's
``train`` / ``predict``).

Every option of descend.fit is a flag of `descend fit` with the same name
in kebab case (`_FLAGS` lists them; the exceptions are derived from the
data). Bad input exits with status 2 and one line on stderr; a diverging
fit with 1; Ctrl-C with 130; never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._atomic import replace_atomically
from ._datafile import FORMATS, MAX_FEATURES, Data, DataError, read_data
from ._defaults import FIT, HYPER_PARAMS, LOSSES, METHODS, ON_DIVERGENCE, OPTIMIZERS
from ._fit import _START  # the core's words for a start whose objective is not finite
from ._model import _plain  # numpy values as JSON takes them, as the model file writes them

CLASSIFIER_LOSSES = ("logistic", "hinge", "softmax")
EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130
# A reader that closed our stdout (`descend predict m.json data.csv | head`):
# 128 + SIGPIPE, the status of a Unix tool that SIGPIPE ended.
EXIT_BROKEN_PIPE = 141

# descend.fit's options that are not flags: the data sets them, or the
# command does (the reader has checked every cell, so check_finite is off).
NOT_FLAGS = ("n_classes", "optimizer_params", "check_finite")


class CommandError(ValueError):
    """Bad input to a command: exit status 2 with this message."""


# ------------------------------------------------------------ flag values


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _count(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _number_or_auto(text: str) -> Any:
    return "auto" if text.strip().lower() == "auto" else _number(text)


def _rate(text: str) -> Any:
    value = text.strip().lower()
    return value if value in ("auto", "bb") else _number(text)


def _auto_or_none(text: str) -> Optional[str]:
    value = text.strip().lower()
    if value in ("auto", "none"):
        return None if value == "none" else value
    raise argparse.ArgumentTypeError(f"expected auto or none, got {text!r}")


def _number_or_none(text: str) -> Optional[float]:
    return None if text.strip().lower() == "none" else _number(text)


def _integer_or_none(text: str) -> Optional[int]:
    return None if text.strip().lower() == "none" else _integer(text)


def _true_false_auto(text: str) -> Any:
    value = text.strip().lower()
    if value in ("auto", "true", "false"):
        return {"auto": "auto", "true": True, "false": False}[value]
    raise argparse.ArgumentTypeError(f"expected auto, true or false, got {text!r}")


def _true_false_count(text: str) -> Any:
    value = text.strip().lower()
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected true, false or an update count, got {text!r}") from None


@dataclass(frozen=True)
class Flag:
    """One of descend.fit's options as a flag of `descend fit`."""

    option: str
    flags: Tuple[str, ...]
    kwargs: Dict[str, Any]


def _flag(option: str, help: str, *, flag: Optional[str] = None, **kwargs: Any) -> Flag:
    return Flag(option, (flag or "--" + option.replace("_", "-"),), dict(help=help, **kwargs))


def _fit_flags() -> List[Flag]:
    """descend.fit's options as flags, defaults from the core's FitOptions."""
    d = FIT
    flags = [
        _flag("loss", f"the loss (default {d['loss']})", choices=LOSSES, default=d["loss"]),
        _flag("delta", f"the huber loss's threshold (default {d['delta']})", type=_number, default=d["delta"]),
        _flag("method", f"batch, sgd (one row per update) or minibatch (default {d['method']})",
              choices=METHODS, default=d["method"]),
        _flag("optimizer", f"the update rule (default {d['optimizer']})", choices=OPTIMIZERS,
              default=d["optimizer"]),
        _flag("learning_rate", "a step size > 0, auto: 1/L from the data, or bb: Barzilai-Borwein steps "
              f"(batch, gd) (default {d['learning_rate']})", type=_rate, default=d["learning_rate"],
              metavar="RATE|auto|bb"),
        _flag("batch_size", f"rows per update for --method minibatch (default {d['batch_size']})", type=_integer,
              default=d["batch_size"]),
        _flag("max_iter", f"most iterations (batch) or epochs (default {d['max_iter']})", type=_count,
              default=d["max_iter"]),
        _flag("tol", f"stop when the objective changes by <= tol, relative; none: off (default {d['tol']})",
              type=_number_or_none, default=d["tol"], metavar="TOL|none"),
        _flag("n_iter_no_change", f"checks in a row within tol to stop (default {d['n_iter_no_change']})",
              type=_integer, default=d["n_iter_no_change"]),
        _flag("gtol", f"batch: stop when the gradient's norm <= gtol; none: off (default {d['gtol']})",
              type=_number_or_none, default=d["gtol"], metavar="GTOL|none"),
        _flag("on_divergence", f"raise, or retry with the step / 10 (default {d['on_divergence']})",
              choices=ON_DIVERGENCE, default=d["on_divergence"]),
        _flag("l2", f"ridge strength (default {d['l2']})", type=_number, default=d["l2"]),
        _flag("l1", f"lasso strength (default {d['l1']})", type=_number, default=d["l1"]),
        _flag("fit_intercept", "do not fit an intercept (fitted by default)", flag="--no-intercept",
              action="store_false", default=True),
        _flag("shuffle", "sgd/minibatch: visit the rows in order", flag="--no-shuffle", action="store_false",
              default=d["shuffle"]),
        _flag("seed", f"seed of the shuffle; none: a fresh one (default {d['seed']})", type=_integer_or_none,
              default=d["seed"], metavar="SEED|none"),
        _flag("n_threads", "threads for the kernels (default: all cores); results are the same for any count",
              flag="--threads", type=_integer, default=None),
        _flag("precompute", f"squared loss, batch: iterate on X^T X (default {d['precompute']})",
              type=_true_false_auto, default=d["precompute"], metavar="auto|true|false"),
        _flag("average", f"sgd/minibatch: average the iterates from update N on (default {d['average']})",
              type=_true_false_count, default=d["average"], metavar="true|false|N"),
        _flag("precondition", "batch, gd/momentum/nesterov: auto steps in centred, unit-variance coordinates "
              f"(default {d['precondition'] or 'none'})", type=_auto_or_none, default=d["precondition"],
              metavar="auto|none"),
    ]
    # momentum may be auto: FISTA's momentum with adaptive restart (nesterov, batch).
    flags += [_flag(name, f"the update rule's {name} (default: the rule's own)",
                    type=_number_or_auto if name == "momentum" else _number, default=None)
              for name in HYPER_PARAMS]
    return flags


FLAGS = _fit_flags()


def fit_options(args: argparse.Namespace) -> Dict[str, Any]:
    """descend.fit's keyword arguments from the parsed flags."""
    options = {flag.option: getattr(args, flag.option) for flag in FLAGS}
    for name in HYPER_PARAMS:
        if options[name] is None:
            del options[name]
    return options


def _flag_names() -> Dict[str, str]:
    return {flag.option: flag.flags[0] for flag in FLAGS}


def in_flag_terms(message: str) -> str:
    """A message of descend.fit with its option names spelled as flags."""
    names = _flag_names()
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: names[m.group(1)], message)


def check_options(options: Dict[str, Any], loss: str) -> None:
    """Every check descend.fit makes on the options, before the file is read."""
    from . import _core
    from ._fit import _solver_options

    hyper = {k: v for k, v in options.items() if k in HYPER_PARAMS}
    own = ("precompute", "average", "precondition")  # descend.fit's, not _solver_options'
    plain = {k: v for k, v in options.items() if k not in HYPER_PARAMS and k not in own}
    core = _solver_options(optimizer_params=hyper, n_classes=2 if loss == "softmax" else 1,
                           check_finite=False, **plain)
    _core.validate_options(**core, **{k: options[k] for k in own if k in options})


# ------------------------------------------------------------------ parsers


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def add_commands(sub: Any) -> None:
    """The fit and predict subcommands, on an argparse subparsers object."""
    fit = sub.add_parser("fit", help="fit a linear model to a data file",
                         description="Fit a linear model by gradient descent to a data file: CSV/TSV, Parquet, "
                                     ".npy/.npz or LIBSVM text.")
    _data_flags(fit)
    fit.add_argument("--target", help="the column to predict (not for LIBSVM: each line's label)")
    fit.add_argument("--features", help="comma-separated feature columns (default: every other column)")
    fit.add_argument("--weight", help="the column of sample weights")
    fit.add_argument("--standardize", action="store_true",
                     help="scale features to unit variance (and centre them, with an intercept) for the fit; "
                          "coefficients are reported in the original units")
    fit.add_argument("--save", metavar="MODEL.json", help="save the model to this file")
    fit.add_argument("--plot", metavar="CURVE.png", help="save the loss curve to this PNG (needs matplotlib)")
    fit.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    fit.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    options = fit.add_argument_group("descend.fit's options")
    for flag in FLAGS:
        options.add_argument(*flag.flags, dest=flag.option, **flag.kwargs)
    fit.set_defaults(command_fn=run_fit)

    predict = sub.add_parser("predict", help="predict with a saved model",
                             description="One prediction per row of a data file with a model saved by "
                                         "`descend fit --save` (features matched by name).")
    predict.add_argument("model", metavar="MODEL.json")
    _data_flags(predict)
    predict.add_argument("-o", "--output", metavar="OUT.csv", help="write here (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="class probabilities (logistic, softmax)")
    predict.set_defaults(command_fn=run_predict)


def _data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", help="the data file")
    parser.add_argument("--sep", help="CSV delimiter (default: sniffed; 'tab' for a tab)")
    parser.add_argument("--format", choices=FORMATS, dest="data_format",
                        help="the file's format (default: from its suffix or contents)")
    parser.add_argument("--max-features", type=_count, default=MAX_FEATURES, metavar="N",
                        help=f"LIBSVM: the most features a file may make (its largest index; default {MAX_FEATURES})")


# ---------------------------------------------------------------- labels


def classes_and_indices(y: np.ndarray, loss: str, what: str) -> Tuple[Optional[np.ndarray], np.ndarray]:
    """The targets as the fit takes them: (None, y) for regression; for a
    classifier its sorted classes and y as indices into them."""
    if loss not in CLASSIFIER_LOSSES:
        if y.dtype.kind not in "biuf":
            raise CommandError(f"{what} is not numeric; for class labels use --loss logistic, hinge or softmax")
        return None, np.asarray(y, np.float64)
    labels = y.astype(str) if y.dtype.kind == "O" else y
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # LIBSVM's -1 / +1 are classes -1 and 1, not -1.0 and 1.0
    classes, index = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise CommandError(f"{what} holds a single class ({classes[0]!r}); a classifier needs two or more")
    if loss != "softmax" and len(classes) > 2:
        raise CommandError(f"{what} holds {len(classes)} classes; --loss {loss} takes two: use --loss softmax")
    return classes, index.reshape(-1).astype(np.float64)


# ------------------------------------------------------------ standardize


@dataclass(frozen=True)
class Scaling:
    """z = (x - mean) / scale, per feature; mean is 0 without an intercept
    (and for sparse X, which centring would fill)."""

    mean: np.ndarray
    scale: np.ndarray

    @staticmethod
    def apply(X: Any, centre: bool, names: Sequence[str] = ()) -> "Scaling":
        """Standardizes X in place (the command's own copy of the file) and
        returns the scaling used. Constant features keep scale 1. A feature
        whose mean or variance overflows float64 (values beyond ~1e154) is a
        CommandError naming it (`names`: the features' names)."""
        sparse = hasattr(X, "tocsr")
        with np.errstate(over="ignore", invalid="ignore"):
            if sparse:  # scale only
                mean = np.asarray(X.mean(axis=0)).ravel()
                square = np.asarray(X.multiply(X).mean(axis=0)).ravel()
                scale = _unit_if_zero(np.sqrt(np.maximum(square - mean * mean, 0.0)))
            else:
                mean = X.mean(axis=0) if centre else np.zeros(X.shape[1])
                scale = _unit_if_zero(X.std(axis=0))
        bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(scale)))
        if bad.size:
            j = int(bad[0])
            name = repr(names[j]) if j < len(names) else str(j)
            raise CommandError(f"--standardize: feature {name} is too large to standardize (its mean or variance "
                               "overflows float64); scale it down first")
        if sparse:
            X.data /= scale[X.indices]
            return Scaling(np.zeros_like(scale), scale)
        X -= mean
        X /= scale
        return Scaling(mean, scale)

    def original_units(self, coef: np.ndarray, intercept: Any) -> Tuple[np.ndarray, Any]:
        """coef and intercept of the fit on z, as those of x:
        coef_x = coef_z / scale, intercept_x = intercept_z - (mean / scale) . coef_z."""
        ratio = self.scale if coef.ndim == 1 else self.scale[:, None]
        shift = (self.mean / self.scale) @ coef
        return coef / ratio, intercept - shift

    def to_dict(self) -> Dict[str, Any]:
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}


def _unit_if_zero(scale: np.ndarray) -> np.ndarray:
    return np.where(scale > 0, scale, 1.0)


# --------------------------------------------------------------------- fit


def run_fit(args: argparse.Namespace) -> int:
    import descend

    options = fit_options(args)
    check_options(options, options["loss"])
    data = read_data(args.data, target=args.target, features=args.features, weight=args.weight, sep=args.sep,
                     fmt=args.data_format, max_features=args.max_features)
    what = f"{data.path}: the target" + (f" column {data.target!r}" if data.target else "")
    classes, y = classes_and_indices(np.asarray(data.y), options["loss"], what)
    scaling = Scaling.apply(data.X, options["fit_intercept"], data.feature_names) if args.standardize else None
    start = time.perf_counter()
    try:
        result = descend.fit(data.X, y, sample_weight=data.weight, progress=args.progress, check_finite=False,
                             **options)
    except descend.DivergenceError as e:
        if not str(e).startswith(_START):
            raise
        # The reader has checked every cell (so check_finite=False), and the
        # command line has no coef0/intercept0: the data's size is to blame.
        objective = str(e)[len(_START):].split(")")[0] + ")"
        raise CommandError(f"{_START}{objective}: {data.path} holds values too large for the {options['loss']} "
                           "loss (a target or feature near 1e308 overflows when squared); scale them down "
                           "(--standardize scales the features, not the target)") from None
    seconds = time.perf_counter() - start
    coef, intercept = np.asarray(result.coef, np.float64), result.intercept
    if scaling is not None:
        coef, intercept = scaling.original_units(coef, intercept)
    summary = _summary(args, data, options, result, coef, intercept, classes, scaling, seconds)
    if args.save:
        # The model holds the coefficients in the file's units.
        descend.save_model(args.save, dataclasses.replace(result, coef=coef, intercept=intercept),
                           loss=options["loss"], feature_names=data.feature_names, classes=classes,
                           scaling=None if scaling is None else scaling.to_dict(),
                           options=dict(options, target=data.target, data_format=data.format,
                                        standardize=args.standardize),
                           outcome=summary["outcome"])
    if args.plot:
        try:
            descend.save_loss_curve(result, args.plot)
        except (ImportError, OSError, ValueError) as e:
            if not args.save:
                raise
            # The model is on disk: say so, or the user re-runs the fit to get it.
            where = f"{e.filename}: {e.strerror or e}" if isinstance(e, OSError) and e.filename else str(e)
            raise CommandError(f"the model was saved to {args.save}, but the loss curve --plot {args.plot} was "
                               f"not written (the fit's summary was not printed): {where}") from None
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(_summary_text(summary))
    return 0


def _summary(args: argparse.Namespace, data: Data, options: Dict[str, Any], result: Any, coef: np.ndarray,
             intercept: Any, classes: Optional[np.ndarray], scaling: Optional[Scaling],
             seconds: float) -> Dict[str, Any]:
    names = data.feature_names
    objective = float(result.loss_history[-1]) if len(result.loss_history) else float("nan")
    return {
        "data": data.path,
        "rows": data.n_rows,
        "features": list(names),
        "target": data.target,
        "loss": options["loss"],
        "method": options["method"],
        "optimizer": options["optimizer"],
        "standardized": scaling is not None,
        "coef": {name: _plain(value) for name, value in zip(names, coef)},
        "intercept": _plain(intercept),
        "classes": None if classes is None else [_plain(c) for c in classes],
        "outcome": {
            "objective": objective,
            "n_iter": int(result.n_iter),
            "unit": "iterations" if options["method"] == "batch" else "epochs",
            "converged": bool(result.converged),
            "status": result.status,
            "message": result.message,
            "grad_norm": float(result.grad_norm),
            "learning_rate": float(result.learning_rate),
            "seconds": seconds,
        },
    }


_MOST_SHOWN = 40


def _summary_text(s: Dict[str, Any]) -> str:
    o = s["outcome"]
    lines = [f"descend fit {s['data']}: {s['rows']} rows, {len(s['features'])} features, {s['loss']} loss, "
             f"{s['method']} {s['optimizer']}" + (", features standardized" if s["standardized"] else "")]
    coef = s["coef"]
    names = list(coef)
    if len(names) > _MOST_SHOWN:  # the largest in size; --json and --save hold them all
        size = [float(np.max(np.abs(coef[n]))) for n in names]
        names = [names[i] for i in sorted(np.argsort(size)[::-1][:_MOST_SHOWN])]
    width = max([len(n) for n in names] + [len("(intercept)")])
    header = "coefficient" if s["classes"] is None or s["loss"] != "softmax" else \
        "  ".join(f"{str(c):>14}" for c in s["classes"])
    lines.append(f"  {'feature':<{width}}  {header}")
    for name in names:
        lines.append(f"  {name:<{width}}  {_cells(coef[name])}")
    lines.append(f"  {'(intercept)':<{width}}  {_cells(s['intercept'])}")
    if len(names) < len(coef):
        lines.append(f"  ({len(coef) - len(names)} more features: see --json or --save)")
    if s["classes"] is not None and s["loss"] != "softmax":
        lines.append(f"  classes: {s['classes'][0]!r} (score < 0), {s['classes'][1]!r} (score > 0)")
    lines.append(f"objective {o['objective']:.8g} after {o['n_iter']} {o['unit']}"
                 + ("" if o["converged"] else " (NOT converged)") + f": {o['message']}")
    lines.append(f"wall time {o['seconds']:.3f} s")
    return "\n".join(lines)


def _cells(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    return "  ".join(f"{v:>14.8g}" for v in values)


# ----------------------------------------------------------------- predict


def run_predict(args: argparse.Namespace) -> int:
    import descend

    model = descend.load_model(args.model)
    target = model.options.get("target")
    libsvm = _is_libsvm_model(model)
    data = read_data(args.data, target=None if libsvm else target,
                     features=None if libsvm else model.feature_names, sep=args.sep, fmt=args.data_format,
                     need_target=False, features_from="the model's features", libsvm_base=_libsvm_base(model),
                     max_features=max(args.max_features, len(model.feature_names)))
    _check_labels(model, data)
    X = _model_columns(model, data)
    if args.proba:
        values = model.predict_proba(X)
        header = [str(c) for c in model.classes]
    else:
        values = model.predict(X)
        header = [target or "prediction"]
    _write_predictions(values, header, args.output)
    return 0


def _is_libsvm_model(model: Any) -> bool:
    return model.options.get("data_format") == "libsvm"


def _libsvm_base(model: Any) -> Optional[int]:
    names = model.feature_names
    return int(names[0]) if _is_libsvm_model(model) and names else None


def _model_columns(model: Any, data: Data) -> Any:
    """X with the model's features in the model's order."""
    if data.format != "libsvm":
        return data.X[:, model.feature_index(data.feature_names)]
    d = len(model.feature_names)
    X = data.X
    if X.shape[1] > d:
        extra = X[:, d:]
        used = np.flatnonzero(np.asarray(abs(extra).sum(axis=0)).ravel())
        if len(used):
            raise CommandError(f"{data.path}: feature {data.feature_names[d + used[0]]} is not in the model "
                               f"(its features are {model.feature_names[0]}..{model.feature_names[-1]})")
        return X[:, :d]
    if X.shape[1] < d:
        return _widen(X, d)
    return X


def _widen(X: Any, d: int) -> Any:
    if hasattr(X, "tocsr"):
        import scipy.sparse as sp

        return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], d))
    wide = np.zeros((X.shape[0], d))
    wide[:, : X.shape[1]] = X
    return wide


def _check_labels(model: Any, data: Data) -> None:
    """A target column in the file must hold the kind of labels the model
    was fit on (numbers for regression; the classes' kind for a classifier)."""
    if data.y is None:
        return
    y = np.asarray(data.y)
    file_kind = "numbers" if y.dtype.kind in "biuf" else "text"
    if model.classes is None:
        model_kind = "numbers"
    else:
        model_kind = "numbers" if np.asarray(model.classes).dtype.kind in "biuf" else "text"
    if file_kind != model_kind:
        column = f"column {data.target!r}" if data.target else "labels"
        raise CommandError(f"{data.path}: the target {column} holds {file_kind}, but the model was fit on "
                           f"{model_kind}")


def _write_predictions(values: np.ndarray, header: List[str], output: Optional[str]) -> None:
    values = np.asarray(values)
    fmt = "%.17g" if values.dtype.kind == "f" else "%s"
    rows = values.reshape(len(values), -1)
    text_header = ",".join(_csv_cell(h) for h in header)
    if output is None:
        np.savetxt(sys.stdout, rows, fmt=fmt, delimiter=",", header=text_header, comments="")
        return
    # Written whole or not at all: a failed write keeps the old file.
    with replace_atomically(output) as f:
        np.savetxt(f, rows, fmt=fmt, delimiter=",", header=text_header, comments="")


def _csv_cell(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


# ------------------------------------------------------------------ running


def run(command: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str) -> int:
    """Runs a command with the command line's exit statuses and one-line
    messages on stderr."""
    from ._core import DivergenceError

    def fail(status: int, message: str) -> int:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)
        return status

    try:
        return command(args)
    except DivergenceError as e:
        return fail(EXIT_DIVERGED, f"{in_flag_terms(str(e))}; or try --learning-rate auto or --standardize")
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted")
    except (DataError, CommandError) as e:
        return fail(EXIT_BAD_INPUT, f"error: {e}")
    except (ValueError, TypeError) as e:  # descend.fit's checks of the options and data
        return fail(EXIT_BAD_INPUT, f"error: {in_flag_terms(str(e))}")
    except ImportError as e:
        return fail(EXIT_BAD_INPUT, f"error: {e}")
    except BrokenPipeError:
        raise  # stdout closed by the reader (`| head`): the entry point ends quietly
    except OSError as e:
        if getattr(e, "filename", None):
            return fail(EXIT_BAD_INPUT, f"error: {e.filename}: {e.strerror or e}")
        return fail(EXIT_BAD_INPUT, f"error: {e.strerror or e}")
