"""A user's script, type-checked with mypy --strict against the installed descend."""

import numpy as np
import numpy.typing as npt

import descend
from descend.schedules import InverseScaling


def main() -> float:
    rng = np.random.default_rng(0)
    X: npt.NDArray[np.float64] = rng.standard_normal((100, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    res: descend.FitResult = descend.fit(X, y, method="minibatch", optimizer="adam",
                                         learning_rate=InverseScaling(0.1), fit_intercept=True)
    theta = descend.gradient_descent(X, y, np.zeros(3), 0.01, 100)
    value, grad, grad_b = descend.loss_grad(X, y, res.coef)
    w = np.zeros(3)
    opt = descend.optim.Adam(w, lr=0.01)
    opt.step(grad)
    sol = descend.minimize(lambda v: (float(v @ v), 2 * v), np.ones(3), method="nesterov", learning_rate=0.1)
    include: str = descend.get_include()
    descend.set_num_threads(descend.get_num_threads())
    return float(res.loss_history[-1]) + float(theta.sum()) + value + float(sol.fun) + len(include)


if __name__ == "__main__":
    print(main())
