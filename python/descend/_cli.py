"""The command line: ``descend demo``, ``fit``, ``predict`` and ``bench``
(also as ``python -m descend``); the fit and predict commands are in
descend._commands."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from ._commands import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, _Parser, add_commands, run


def _fmt(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{x:.6g}" for x in v) + "]"


def _line(what: str, res, seconds: float) -> str:
    unit = "epochs" if "epoch" in res.message else "iterations"
    state = f"converged ({res.status})" if res.converged else f"NOT converged yet ({res.status})"
    objective = res.loss_history[-1]
    return f"  {what}: {res.n_iter} {unit}, objective {objective:.6g}, {state}, {seconds * 1e3:.1f} ms"


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def demo(out=sys.stdout) -> int:
    """Fits the textbook example, a synthetic regression and a classifier."""
    import descend

    say = lambda s="": print(s, file=out, flush=True)  # noqa: E731
    say(f"descend {descend.__version__}: gradient descent in C++ on {descend.get_num_threads()} thread(s)")

    # 1. The textbook example.
    X = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    y = np.array([2.0, 5.0, 9.0])
    say("\n1. Textbook least squares: X = [[1,2],[1,3],[1,4]], y = [2,5,9], J = (1/m)||X theta - y||^2")
    res, s = _timed(descend.fit, X, y, learning_rate=0.01, max_iter=1000, tol=None)
    say(_line("batch gd, learning_rate 0.01, max_iter 1000", res, s))
    say(f"     theta = {_fmt(res.coef)}   (the gradient norm is still {res.grad_norm:.3g})")
    res, s = _timed(descend.fit, X, y, learning_rate=0.01, max_iter=1_000_000, tol=None, gtol=1e-10)
    say(_line("batch gd, learning_rate 0.01, until gtol 1e-10", res, s))
    exact = np.linalg.lstsq(X, y, rcond=None)[0]
    say(f"     theta = {_fmt(res.coef)}   np.linalg.lstsq: {_fmt(exact)}")

    # 2. A larger regression.
    rng = np.random.default_rng(0)
    n, d = 200_000, 50
    X = rng.standard_normal((n, d))
    true_coef = rng.standard_normal(d)
    y = X @ true_coef + 3.0 + 0.1 * rng.standard_normal(n)
    say(f"\n2. Synthetic regression: {n:,} x {d} float64, squared loss, with intercept")
    res, s = _timed(descend.fit, X, y, learning_rate=0.2, max_iter=500, tol=None, gtol=1e-8, fit_intercept=True)
    say(_line("batch gd, learning_rate 0.2", res, s))
    say(f"     max |coef - true coef| = {np.abs(res.coef - true_coef).max():.3g}, intercept {res.intercept:.4f} (true 3)")
    res, s = _timed(descend.fit, X, y, method="sgd", learning_rate=1e-3, max_iter=5, tol=None, fit_intercept=True)
    say(_line("sgd, learning_rate 1e-3, 5 epochs", res, s))

    # 3. Classification.
    n, d = 100_000, 20
    X = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.float32)
    say(f"\n3. Logistic regression: {n:,} x {d} float32, l2 = 1e-3, with intercept")
    res, s = _timed(descend.fit, X, y, loss="logistic", method="minibatch", batch_size=256,
                    learning_rate=0.5, max_iter=50, tol=1e-5, l2=1e-3, fit_intercept=True)
    say(_line("minibatch gd, batch_size 256, learning_rate 0.5", res, s))
    p = X @ res.coef + res.intercept
    say(f"     training accuracy {np.mean((p > 0) == (y == 1)):.4f}")
    return 0


def _prog() -> str:
    """How the user called us: the console script or python -m descend."""
    return "descend" if os.path.basename(sys.argv[0]) == "descend" else "python -m descend"


def main(argv: list[str] | None = None) -> int:
    try:
        status = _main(argv)
        sys.stdout.flush()  # here, not at exit, where a closed pipe would print a traceback
        return status
    except KeyboardInterrupt:  # Ctrl-C outside a command (while importing, parsing)
        print(f"{_prog()}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader closed stdout (`| head -5`): stop quietly, as Unix tools
        # do. stdout now points at devnull, so the interpreter's own flush at
        # exit has nowhere to fail (Python's documented recipe, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None) -> int:
    parser = _Parser(prog=_prog(), description="descend: fast gradient descent")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--includedir", action="store_true", help="print the C++ headers' directory and exit")
    parser.add_argument("--cmakedir", action="store_true", help="print the directory of descendConfig.cmake and exit")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="fit the textbook example, a regression and a classifier")
    sub.add_parser("bench", help="the benchmark suite, side by side (see python -m descend bench --help)",
                   add_help=False)
    add_commands(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from . import bench

        return bench.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.version:
        import descend

        print(descend.__version__)
        return 0
    if args.includedir or args.cmakedir:
        from ._paths import cmake_dir, get_include

        print(get_include() if args.includedir else cmake_dir())
        return 0
    if args.command == "demo":
        return demo()
    if args.command in ("fit", "predict"):
        return run(args.command_fn, args, f"{parser.prog} {args.command}")
    parser.print_help()
    return 2
