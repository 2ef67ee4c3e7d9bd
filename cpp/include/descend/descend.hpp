// descend: gradient descent for linear models over caller-owned buffers.
// Include this header; it is also the map of the public API (everything
// else lives in descend::detail or is an implementation header).
//
// Data (view.hpp, dataset.hpp): nothing is copied or written.
//   MatrixView<T>{data, rows, cols, Layout::RowMajor | Layout::ColMajor}
//   Span<T>, Span<const T>                    (pointer, size) or a std::vector
//   Dataset<T>{X, y, sample_weight}           T = float or double; a default
//                                             sample_weight Span means unit weights
//
// Fitting (fit_options.hpp, solver.hpp): J = (1/m) sum_i w_i loss(p_i, y_i) + (l2/2)||coef||^2
// + l1 ||coef||_1, p_i = x_i . coef + intercept.
//   FitOptions      loss (LossSpec), method (Method::Batch | SGD | MiniBatch),
//                   optimizer (UpdateRule), learning_rate (Schedule) or
//                   auto_learning_rate (1/L) or bb_learning_rate (Barzilai-Borwein,
//                   batch gd), batch_size, stopping (StoppingRule),
//                   on_divergence (OnDivergence::Raise | Retry: go back to the
//                   best check so far with the rates / 10, at most 5 times),
//                   l2, l1, fit_intercept, shuffle, seed, n_threads, check_finite,
//                   precompute (Gram path), average, precondition (batch: centred
//                   Jacobi scaling, precondition.hpp)
//   fit(data, options) -> FitResult<T>{coef, intercept, report}
//   fit(data, coef, intercept, options[, observer]) -> FitReport, in place
//   FitReport       n_iter, status (Status), converged, message,
//                   loss_history, learning_rate_history, grad_norm,
//                   learning_rate, retries
//   Observer<T>     on_iteration(Progress<T>) -> true stops; poll() every poll_seconds
//   fit(RemoteSums<T>{rows, features, loss_grad, curvature, column_sums}, coef, intercept, options[, observer])
//                   batch fit of data held elsewhere (its sums at theta), same loop
//   gradient_descent(data, theta, learning_rate, num_iterations[, observer])
//                   the textbook least-squares loop, theta in place
//   loss_grad(data, coef, intercept, loss, l2, grad_coef, grad_intercept) -> J
//
// Pieces (losses.hpp, optimizers.hpp, schedules.hpp, stopping.hpp, names.hpp):
//   LossSpec{LossKind::Squared | Logistic | Hinge | Huber | Softmax, delta, n_classes}
//   UpdateRule = GD | Momentum | Nesterov | Adagrad | RMSprop | Adam | AdamW
//                (hyper-parameters as fields: Adam{0.9, 0.999, 1e-8}, ...);
//                with_auto_momentum(Nesterov{}): FISTA with adaptive restart (batch fits)
//   Schedule::constant(eta0), or Schedule{ScheduleKind::Cosine, eta0, ...};
//                   ScheduleKind::ReduceOnPlateau follows the objective: a
//                   ScheduleRun(schedule) takes check(J) and gives at(t)
//   StoppingRule{max_iter, tol, n_iter_no_change, gtol, divergence_factor}
//   StoppingMonitor(rule).check(objective, grad_norm) -> Status, for loops of
//                   your own; stop_message, divergence_message word the outcome
//   Optimizer<T>(rule, size, schedule).step(params, grad)   stateful, in place
//   step(rule, StepBuffers<T, G>{param, grad, state0, state1, size}, lr, t)
//   loss_from_name, method_from_name, optimizer_from_name, schedule_from_name,
//   on_divergence_from_name: the Python names ("squared", "sgd", "adam", ...)
//   set_num_threads(n), get_num_threads()
//
// Files (libsvm.hpp):
//   read_libsvm(path), parse_libsvm(text, size) -> LibsvmData{labels, indptr,
//                   indices, values, min_index, max_index}: LIBSVM/SVMlight
//                   text as CSR arrays, for a SparseView
//
// Errors: std::invalid_argument for bad input, before any work, with the
// messages Python shows (a ValueError there); DivergenceError (a
// std::runtime_error) when the objective diverges. Results are bitwise
// identical for any n_threads.
#pragma once

#include "config.hpp"
#include "dataset.hpp"
#include "errors.hpp"
#include "fit_options.hpp"
#include "libsvm.hpp"
#include "gradient.hpp"
#include "losses.hpp"
#include "names.hpp"
#include "optimizers.hpp"
#include "params.hpp"
#include "random.hpp"
#include "remote.hpp"
#include "schedules.hpp"
#include "solver.hpp"
#include "stopping.hpp"
#include "view.hpp"
