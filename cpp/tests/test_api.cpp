// The rest of the public API against values computed by hand: hinge and
// huber, sgd and minibatch epochs, l1, schedules, tol, the stateful
// Optimizer, fit() returning a FitResult, a FitState continuing a run,
// gradient_descent, and error
// messages as Python shows them.
#include <descend/descend.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "testing.hpp"

namespace {

using descend::Layout;
using descend_test::near;
using descend_test::textbook;
using descend_test::textbook_X;
using descend_test::textbook_y;

// One feature: x = [1, 2, -1].
const std::vector<double> x1 = {1, 2, -1};

// loss_grad on x at coef (no intercept) against J, g and gb by hand.
struct LossCase {
  descend::LossKind kind;
  std::vector<double> y;
  double coef, J, g, gb;
};

void losses_by_hand() {
  const LossCase cases[] = {
      // hinge, coef 0.5: p = [0.5, 1, -0.5], s = 2y - 1 = [1, -1, 1], 1 - s p =
      // [0.5, 2, 1.5] (all > 0, so dloss/dp = -s): J = 4/3, g = (-1 + 2 + 1)/3,
      // gb = (-1 + 1 - 1)/3.
      {descend::LossKind::Hinge, {1, 0, 1}, 0.5, 4.0 / 3.0, 2.0 / 3.0, -1.0 / 3.0},
      // huber (delta 1), coef 1, y = 0: r = [1, 2, -1]; loss r^2/2 where |r| <= 1,
      // else |r| - 1/2: [0.5, 1.5, 0.5]; dloss/dp = clip(r, -1, 1) = [1, 1, -1]:
      // J = 2.5/3, g = (1 + 2 + 1)/3, gb = (1 + 1 - 1)/3.
      {descend::LossKind::Huber, {0, 0, 0}, 1.0, 2.5 / 3.0, 4.0 / 3.0, 1.0 / 3.0},
  };
  for (const LossCase& c : cases) {
    const descend::Dataset<double> data{{x1.data(), 3, 1, Layout::RowMajor}, {c.y.data(), 3}, {}};
    descend::LossSpec loss;
    loss.kind = c.kind;
    const double intercept = 0.0;
    double g = 0, gb = 0;
    const double J = descend::loss_grad(data, &c.coef, &intercept, loss, 0.0, &g, &gb);
    CHECK(near(J, c.J, 1e-15));
    CHECK(near(g, c.g, 1e-15));
    CHECK(near(gb, c.gb, 1e-15));
  }
}

// One epoch over the textbook rows in order, batches of b rows:
// theta -= lr (2/m) sum_batch (x_i . theta - y_i) x_i; returns the mean of
// the batches' objectives (the epoch's loss_history entry).
double textbook_epoch_by_hand(int b, double lr, double theta[2]) {
  double sum = 0.0;
  int batches = 0;
  for (int start = 0; start < 3; start += b, ++batches) {
    const int m = std::min(b, 3 - start);
    double g0 = 0, g1 = 0, J = 0;
    for (int i = start; i < start + m; ++i) {
      const double r = textbook_X[2 * i] * theta[0] + textbook_X[2 * i + 1] * theta[1] - textbook_y[i];
      J += r * r;
      g0 += 2 * r * textbook_X[2 * i];
      g1 += 2 * r * textbook_X[2 * i + 1];
    }
    theta[0] -= lr * g0 / m;
    theta[1] -= lr * g1 / m;
    sum += J / m;
  }
  return sum / batches;
}

void sgd_and_minibatch_epochs_by_hand() {
  for (const int b : {1, 2}) {
    descend::FitOptions o;
    o.method = b == 1 ? descend::Method::SGD : descend::Method::MiniBatch;
    o.batch_size = b;
    o.shuffle = false;
    o.learning_rate = descend::Schedule::constant(0.01);
    o.stopping.tol.reset();
    o.stopping.max_iter = 2;
    double theta[2] = {0, 0};
    const double J0 = textbook_epoch_by_hand(b, 0.01, theta);
    const double J1 = textbook_epoch_by_hand(b, 0.01, theta);
    const auto result = descend::fit(textbook(), o);
    CHECK(result.report.loss_history.size() == 2);
    CHECK(near(result.report.loss_history[0], J0, 1e-14));
    CHECK(near(result.report.loss_history[1], J1, 1e-14));
    CHECK(near(result.coef[0], theta[0], 1e-14));
    CHECK(near(result.coef[1], theta[1], 1e-14));
  }
}

void l1_is_a_soft_threshold() {
  // One gd step from 0: g = (2/3) X^T(-y) = [-32/3, -110/3], z = -0.01 g;
  // then shrink by lr l1 = 0.2: [0.1067 -> 0, 0.3667 -> 0.1667].
  descend::FitOptions o;
  o.learning_rate = descend::Schedule::constant(0.01);
  o.l1 = 20.0;
  o.stopping.tol.reset();
  o.stopping.max_iter = 1;
  const auto result = descend::fit(textbook(), o);
  CHECK(result.coef[0] == 0.0);
  CHECK(near(result.coef[1], 0.01 * 110.0 / 3.0 - 0.2, 1e-14));
}

void schedules_by_hand() {
  using descend::Schedule;
  using descend::ScheduleKind;
  Schedule s;
  s.eta0 = 1.0;
  s.kind = ScheduleKind::InverseScaling;
  s.power_t = 0.5;
  CHECK(near(s.at(3), 0.5, 1e-15));  // 1 / sqrt(4)
  s.kind = ScheduleKind::Exponential;
  s.gamma = 0.5;
  CHECK(near(s.at(3), 0.125, 1e-15));
  s.kind = ScheduleKind::Step;
  s.gamma = 0.1;
  s.step_size = 2;
  CHECK(near(s.at(3), 0.1, 1e-15));  // 0.1^floor(3/2)
  s.kind = ScheduleKind::Cosine;
  s.t_max = 4;
  s.eta_min = 0.0;
  CHECK(near(s.at(2), 0.5, 1e-15));  // half way down the half cosine
  CHECK(s.at(10) == 0.0);            // eta_min after t_max
}

void tol_stops_on_the_relative_change() {
  // Non-negative objectives change by at most 1 relative: tol = 1 stops at the second check.
  descend::FitOptions o;
  o.learning_rate = descend::Schedule::constant(0.01);
  o.stopping.tol = 1.0;
  const auto result = descend::fit(textbook(), o);
  CHECK(result.report.status == descend::Status::Tol && result.report.converged);
  CHECK(result.report.n_iter == 2);
}

void optimizer_keeps_its_state() {
  // momentum 0.9, lr 0.1, g = 1 twice: b = 1, p = 0.9; b = 1.9, p = 0.71.
  descend::Optimizer<double> opt(descend::Momentum{}, 1, descend::Schedule::constant(0.1));
  std::vector<double> p = {1.0};
  const std::vector<double> g = {1.0};
  opt.step(p, g);
  opt.step(p, g);
  CHECK(near(p[0], 0.71, 1e-15));
  CHECK(near(opt.state(0)[0], 1.9, 1e-15));
  CHECK(opt.steps() == 2);
  opt.reset();
  CHECK(opt.steps() == 0 && opt.state(0)[0] == 0.0);
  // Adam's first step is lr sign(g) (up to epsilon), whatever the scale of g.
  descend::Optimizer<float> adam(descend::Adam{}, 2, descend::Schedule::constant(0.1));
  std::vector<float> q = {1.0f, -2.0f};
  adam.step(q, std::vector<float>{0.5f, -4.0f});
  CHECK(near(q[0], 0.9, 1e-6) && near(q[1], -1.9, 1e-6));
  bool thrown = false;
  try {
    adam.step(q, std::vector<float>{1.0f});
  } catch (const std::invalid_argument& e) {
    thrown = std::string(e.what()).find("size") != std::string::npos;
  }
  CHECK(thrown);
  thrown = false;
  try {
    descend::Adam bad;
    bad.beta_1 = 1.5;
    descend::Optimizer<double> never(bad, 1);
  } catch (const std::invalid_argument& e) {
    thrown = std::string(e.what()).find("beta_1") != std::string::npos;
  }
  CHECK(thrown);
}

void fit_result_equals_the_in_place_fit() {
  descend::FitOptions o;
  o.learning_rate = descend::Schedule::constant(0.01);
  o.fit_intercept = true;
  std::vector<double> coef = {0.0, 0.0};
  double intercept = 0.0;
  const auto report = descend::fit(textbook(), coef.data(), &intercept, o);
  const auto result = descend::fit(textbook(), o);
  CHECK(result.coef == coef && result.intercept[0] == intercept);
  CHECK(result.report.loss_history == report.loss_history);
}

// Three fits of one epoch handed one FitState are one fit of three epochs:
// the update count, Adam's moments and the shuffle's stream carry over.
void fit_state_continues_a_run() {
  descend::FitOptions o;
  o.method = descend::Method::SGD;
  o.optimizer = descend::Adam{};
  o.learning_rate = descend::Schedule::constant(0.01);
  o.fit_intercept = true;
  o.stopping.tol.reset();
  o.seed = 7;
  std::vector<double> coef = {0.0, 0.0};
  double intercept = 0.0;
  descend::FitState state;
  o.stopping.max_iter = 1;
  for (int k = 0; k < 3; ++k) {
    descend::fit(textbook(), coef.data(), &intercept, o, static_cast<const descend::Observer<double>*>(nullptr), &state);
    o.seed = 99;  // a filled state's stream is used, not the seed
  }
  o.seed = 7;
  o.stopping.max_iter = 3;
  const auto whole = descend::fit(textbook(), o);
  CHECK(whole.coef == coef && whole.intercept[0] == intercept);
  CHECK(state.started && state.steps == 9);
}

void gradient_descent_is_the_textbook_loop() {
  // theta <- theta - lr (2/m) X^T (X theta - y), 50 times, by hand.
  double theta[2] = {0.5, -0.25}, by_hand[2] = {0.5, -0.25};
  for (int it = 0; it < 50; ++it) {
    double g0 = 0, g1 = 0;
    for (int i = 0; i < 3; ++i) {
      const double r = textbook_X[2 * i] * by_hand[0] + textbook_X[2 * i + 1] * by_hand[1] - textbook_y[i];
      g0 += r * textbook_X[2 * i];
      g1 += r * textbook_X[2 * i + 1];
    }
    by_hand[0] -= 0.01 * (2.0 / 3.0) * g0;
    by_hand[1] -= 0.01 * (2.0 / 3.0) * g1;
  }
  descend::gradient_descent(textbook(), theta, 0.01, 50);
  CHECK(near(theta[0], by_hand[0], 1e-13) && near(theta[1], by_hand[1], 1e-13));

  std::string what;
  double bad[2] = {0.0, std::nan("")};
  try {
    descend::gradient_descent(textbook(), bad, 0.01, 0);
  } catch (const std::invalid_argument& e) {
    what = e.what();
  }
  CHECK(what == "theta contains NaN or infinity at index 1");
  try {
    descend::gradient_descent(textbook(), theta, 0.01, -1);
  } catch (const std::invalid_argument& e) {
    what = e.what();
  }
  CHECK(what == "num_iterations must be >= 0, got -1");
}

void messages_are_pythons() {
  // The same text as descend.fit's ValueError (tests/test_validation.py checks the Python side).
  const std::vector<double> y = {1, 2};
  const descend::Dataset<double> data{{textbook_X.data(), 3, 2, Layout::RowMajor}, {y.data(), 2}, {}};
  std::string what;
  try {
    descend::fit(data, descend::FitOptions{});
  } catch (const std::invalid_argument& e) {
    what = e.what();
  }
  CHECK(what == "y has 2 entries but the number of rows of X is 3; they must match");
}

void an_exception_from_poll_ends_a_shuffled_epoch() {
  // sgd over 40 gathered blocks, the next one gathered on a second thread:
  // poll (Ctrl-C in Python) throws from inside that parallel region; fit
  // rethrows it, with no crash or hang, and leaves coef as it was.
  const descend::index_t n = 20000, d = 64;
  std::vector<double> X(static_cast<size_t>(n * d)), y(static_cast<size_t>(n));
  for (size_t i = 0; i < X.size(); ++i) X[i] = double((i * 7919) % 101) / 101.0 - 0.5;
  for (size_t i = 0; i < y.size(); ++i) y[i] = X[i * d];
  const descend::Dataset<double> data{{X.data(), n, d, Layout::RowMajor}, {y.data(), n}, {}};
  descend::FitOptions o;
  o.method = descend::Method::SGD;
  o.learning_rate = descend::Schedule::constant(1e-3);
  o.n_threads = 2;
  descend::Observer<double> obs;
  obs.poll_seconds = 0.0;
  int polls = 0;
  obs.poll = [&] {
    if (++polls == 3) throw std::runtime_error("stop from poll");
  };
  std::vector<double> coef(static_cast<size_t>(d), 0.0);
  double intercept = 0.0;
  std::string what;
  try {
    descend::fit(data, coef.data(), &intercept, o, &obs);
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  CHECK(what == "stop from poll");
  CHECK(polls == 3);
  CHECK(std::all_of(coef.begin(), coef.end(), [](double c) { return c == 0.0; }));
}

// Rosenbrock from the known-answer file (tests/test_minimize.py runs the
// same problem through descend.minimize): Adam steps on the analytic
// gradient until ||g|| <= gtol reach the analytic optimum (1, 1).
void rosenbrock_with_adam() {
  std::vector<double> x = descend_test::known_answer("rosenbrock.x0");
  const auto& x_star = descend_test::known_answer("rosenbrock.x_star");
  const double gtol = descend_test::known_scalar("rosenbrock.gtol");
  const int max_iter = static_cast<int>(descend_test::known_scalar("rosenbrock.max_iter"));
  descend::Optimizer<double> adam(descend::Adam{}, 2,
                                  descend::Schedule::constant(descend_test::known_scalar("rosenbrock.adam_learning_rate")));
  auto f = [](const std::vector<double>& p) {
    return (1 - p[0]) * (1 - p[0]) + 100 * (p[1] - p[0] * p[0]) * (p[1] - p[0] * p[0]);
  };
  std::vector<double> g(2);
  int nit = 0;
  for (;; ++nit) {
    g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]);
    g[1] = 200 * (x[1] - x[0] * x[0]);
    if (std::hypot(g[0], g[1]) <= gtol || nit == max_iter) break;
    adam.step(x, g);
  }
  CHECK(nit < max_iter);
  CHECK(x_star.size() == 2 && x_star[0] == 1.0 && x_star[1] == 1.0);
  CHECK(std::fabs(x[0] - x_star[0]) <= 1e-4 && std::fabs(x[1] - x_star[1]) <= 1e-4);
  CHECK(f(x) < 1e-10);
}

// The ill-conditioned quadratic x.A x / 2 - b.x from the known-answer file
// (tests/conftest.py builds the same A): A = Q diag(lambda) Q, Q the
// reflection along u, lambda_j = cond^(j / (d - 1)). Nesterov at lr =
// 1/lambda_max with momentum (sqrt(cond) - 1) / (sqrt(cond) + 1) reaches
// ||g|| <= gtol, so ||x - x*|| <= gtol / lambda_min; plain gd at the same
// rate does not within as many steps.
void ill_conditioned_quadratic_with_nesterov() {
  const auto& u = descend_test::known_answer("ill_conditioned.u");
  const auto& b = descend_test::known_answer("ill_conditioned.b");
  const double cond = descend_test::known_scalar("ill_conditioned.cond");
  const double gtol = descend_test::known_scalar("ill_conditioned.gtol");
  const int max_iter = static_cast<int>(descend_test::known_scalar("ill_conditioned.max_iter"));
  const size_t d = u.size();
  CHECK(b.size() == d && d >= 2);
  std::vector<double> lambda(d);
  for (size_t j = 0; j < d; ++j) lambda[j] = std::pow(cond, double(j) / double(d - 1));
  double uu = 0.0;
  for (double v : u) uu += v * v;
  auto reflect = [&](std::vector<double> v) {  // Q v = v - 2 u (u.v) / (u.u)
    double uv = 0.0;
    for (size_t j = 0; j < d; ++j) uv += u[j] * v[j];
    for (size_t j = 0; j < d; ++j) v[j] -= 2.0 * u[j] * uv / uu;
    return v;
  };
  auto gradient = [&](const std::vector<double>& x) {  // A x - b
    std::vector<double> g = reflect(x);
    for (size_t j = 0; j < d; ++j) g[j] *= lambda[j];
    g = reflect(g);
    for (size_t j = 0; j < d; ++j) g[j] -= b[j];
    return g;
  };
  std::vector<double> x_star = reflect(b);
  for (size_t j = 0; j < d; ++j) x_star[j] /= lambda[j];
  x_star = reflect(x_star);
  auto norm = [](const std::vector<double>& v) {
    double s = 0.0;
    for (double e : v) s += e * e;
    return std::sqrt(s);
  };
  CHECK(norm(gradient(x_star)) <= 1e-12 * norm(b));

  auto run = [&](const descend::UpdateRule& rule, int most) {
    descend::Optimizer<double> opt(rule, static_cast<descend::index_t>(d), descend::Schedule::constant(1.0 / lambda[d - 1]));
    std::vector<double> x(d, 0.0);
    int nit = 0;
    for (;; ++nit) {
      const auto g = gradient(x);
      if (norm(g) <= gtol || nit == most) break;
      opt.step(x, g);
    }
    return std::make_pair(x, nit);
  };
  descend::Nesterov nesterov;
  nesterov.momentum = (std::sqrt(cond) - 1) / (std::sqrt(cond) + 1);
  const auto [x, nit] = run(nesterov, max_iter);
  CHECK(nit < max_iter);
  CHECK(norm(gradient(x)) <= gtol);
  std::vector<double> err(d);
  for (size_t j = 0; j < d; ++j) err[j] = x[j] - x_star[j];
  CHECK(norm(err) <= gtol / lambda[0] * (1 + 1e-6));
  const auto gd = run(descend::GD{}, nit);  // the momentum matters
  CHECK(gd.second == nit && norm(gradient(gd.first)) > gtol);
}

// learning_rate="bb", momentum="auto" and precondition on noise-free
// least squares with raw columns (scales 1e-2 ... 1e2, offsets up to 50):
// both reach y's own coefficients; BB's first step is 1/(2 (d + 1)) by
// hand (every preconditioned column has unit mean square, the squared
// loss's curvature is 2); FISTA's first step is plain gd's (t = 1).
void tuning_free_rules_by_hand() {
  const size_t n = 40, d = 3;
  const double scale[d] = {1e-2, 1.0, 1e2}, offset[d] = {5.0, -3.0, 50.0}, coef[d] = {30.0, -2.0, 0.01};
  std::vector<double> X(n * d), y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = 0.5;
    for (size_t j = 0; j < d; ++j) {
      const double z = std::sin(double(i * (j + 2) + j)) + 0.3 * std::cos(double(i * i % 7) * double(j + 1));
      X[i * d + j] = scale[j] * z + offset[j];
      y[i] += coef[j] * X[i * d + j];
    }
  }
  const descend::Dataset<double> data{{X.data(), descend::index_t(n), descend::index_t(d), Layout::RowMajor}, {y.data(), descend::index_t(n)}, {}};
  descend::FitOptions opt;
  opt.fit_intercept = true;
  opt.precondition = true;
  opt.precompute = descend::Precompute::Never;
  opt.stopping.tol.reset();
  opt.stopping.gtol = 1e-10;
  opt.stopping.max_iter = 5000;
  descend::FitOptions bb = opt;
  bb.bb_learning_rate = true;
  descend::FitOptions fista = opt;
  fista.optimizer = descend::with_auto_momentum(descend::Nesterov{});
  fista.auto_learning_rate = true;
  for (const auto& o : {bb, fista}) {
    const auto r = descend::fit(data, o);
    CHECK(r.report.status == descend::Status::Gtol);
    for (size_t j = 0; j < d; ++j) CHECK(near(r.coef[j], coef[j], 1e-7));
    CHECK(near(r.intercept[0], 0.5, 1e-6));
  }
  bb.stopping.max_iter = 1;
  CHECK(near(descend::fit(data, bb).report.learning_rate, 1.0 / (2.0 * (d + 1)), 1e-15));
  fista.stopping.max_iter = 1;
  descend::FitOptions gd = fista;
  gd.optimizer = descend::GD{};
  const auto a = descend::fit(data, fista), b = descend::fit(data, gd);
  for (size_t j = 0; j < d; ++j) CHECK(near(a.coef[j], b.coef[j], 1e-13));  // (the same step, rounded in another order)
  bool refused = false;
  try {
    descend::Optimizer<double>(fista.optimizer, 3);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  CHECK(refused);  // momentum="auto" needs fit's batch loop
}

}  // namespace

int main() {
  losses_by_hand();
  sgd_and_minibatch_epochs_by_hand();
  l1_is_a_soft_threshold();
  schedules_by_hand();
  tol_stops_on_the_relative_change();
  optimizer_keeps_its_state();
  fit_result_equals_the_in_place_fit();
  fit_state_continues_a_run();
  gradient_descent_is_the_textbook_loop();
  messages_are_pythons();
  an_exception_from_poll_ends_a_shuffled_epoch();
  rosenbrock_with_adam();
  ill_conditioned_quadratic_with_nesterov();
  tuning_free_rules_by_hand();
  return descend_test::finish();
}
