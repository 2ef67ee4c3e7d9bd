// Kernels, update rules and the solver against values computed by hand.
#include <descend/descend.hpp>

#include "testing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using descend_test::near;
using descend_test::textbook;
using descend_test::textbook_X;
using descend_test::textbook_y;
using descend::index_t;
using descend::Layout;

void squared_loss_grad_by_hand() {
  // At coef = 0: J = (4 + 25 + 81)/3 and grad = (2/3) X^T (0 - y) = (2/3) [-16, -55].
  const std::vector<double> coef = {0.0, 0.0};
  const double intercept = 0.0;
  std::vector<double> g(2);
  double gb = 0.0;
  const double J = descend::loss_grad(textbook(), coef.data(), &intercept, descend::LossSpec{}, 0.0,
                                      g.data(), &gb);
  CHECK(near(J, 110.0 / 3.0, 1e-15));
  CHECK(near(g[0], -32.0 / 3.0, 1e-15));
  CHECK(near(g[1], -110.0 / 3.0, 1e-15));
  CHECK(near(gb, -32.0 / 3.0, 1e-15));  // the intercept's column is all ones, as X's first
}

void logistic_loss_grad_by_hand() {
  // At coef = 0 every row costs log 2 and contributes (1/2 - y_i) x_i / m.
  const std::vector<double> X = {1, 0, 0, 1, 2, 2};  // column-major 3 x 2: columns [1,0,0], [1,2,2]
  const std::vector<double> y = {1, 0, 1};
  const descend::Dataset<double> data{{X.data(), 3, 2, Layout::ColMajor}, {y.data(), 3}, {}};
  descend::LossSpec logistic;
  logistic.kind = descend::LossKind::Logistic;
  const std::vector<double> coef = {0.0, 0.0};
  const double intercept = 0.0;
  std::vector<double> g(2);
  double gb = 0.0;
  const double J = descend::loss_grad(data, coef.data(), &intercept, logistic, 0.0, g.data(), &gb);
  CHECK(near(J, std::log(2.0), 1e-15));
  CHECK(near(g[0], (-0.5 * 1) / 3.0, 1e-15));                      // rows' x_0 = 1, 0, 0
  CHECK(near(g[1], (-0.5 * 1 + 0.5 * 2 - 0.5 * 2) / 3.0, 1e-15));  // x_1 = 1, 2, 2
  CHECK(near(gb, (-0.5 + 0.5 - 0.5) / 3.0, 1e-15));
}

void textbook_loop_matches_the_numpy_loop() {
  // theta <- theta - lr (2/m) X^T (X theta - y), written out, from the
  // known-answer file's theta0, lr and iteration count (tests/test_fit.py
  // runs the same example).
  const auto& theta0 = descend_test::known_answer("textbook.theta0");
  const double lr = descend_test::known_scalar("textbook.learning_rate");
  const int iterations = static_cast<int>(descend_test::known_scalar("textbook.num_iterations"));
  CHECK(textbook_X.size() == 6 && textbook_y.size() == 3 && theta0.size() == 2);
  double t0 = theta0[0], t1 = theta0[1];
  for (int it = 0; it < iterations; ++it) {
    double g0 = 0.0, g1 = 0.0;
    for (int i = 0; i < 3; ++i) {
      const double r = textbook_X[2 * i] * t0 + textbook_X[2 * i + 1] * t1 - textbook_y[i];
      g0 += r * textbook_X[2 * i];
      g1 += r * textbook_X[2 * i + 1];
    }
    t0 -= lr * (2.0 / 3.0) * g0;
    t1 -= lr * (2.0 / 3.0) * g1;
  }
  CHECK(std::fabs(t0 - theta0[0]) > 0.1 && std::fabs(t1 - theta0[1]) > 0.1);  // the loop moved
  descend::FitOptions o;
  o.learning_rate = descend::Schedule::constant(lr);
  o.stopping.tol.reset();
  o.stopping.max_iter = iterations;
  std::vector<double> coef = theta0;
  double intercept = 0.0;
  const auto report = descend::fit(textbook(), coef.data(), &intercept, o);
  CHECK(report.n_iter == iterations && report.status == descend::Status::MaxIter);
  CHECK(near(coef[0], t0, 1e-12));
  CHECK(near(coef[1], t1, 1e-12));
}

void least_squares_optimum() {
  // y = [2,5,9] on x = [2,3,4]: slope 3.5, intercept 16/3 - 3 * 3.5 = -31/6.
  const std::vector<double> x = {2, 3, 4};
  const descend::Dataset<double> data{{x.data(), 3, 1, Layout::RowMajor}, {textbook_y.data(), 3}, {}};
  descend::FitOptions o;
  o.auto_learning_rate = true;
  o.optimizer = descend::Nesterov{};
  o.fit_intercept = true;
  o.stopping.tol.reset();
  o.stopping.gtol = 1e-13;
  o.stopping.max_iter = 100000;
  double slope = 0.0, intercept = 0.0;
  const auto report = descend::fit(data, &slope, &intercept, o);
  CHECK(report.converged);
  CHECK(near(slope, 3.5, 1e-11));
  CHECK(near(intercept, -31.0 / 6.0, 1e-11));
  CHECK(report.loss_history.size() == static_cast<size_t>(report.n_iter));
}

void adam_first_step_by_hand() {
  // m = 0.1 g, v = 0.001 g^2; bias-corrected m/sqrt(v) = sign(g): p -= lr (up to epsilon).
  std::vector<float> p = {1.0f, -2.0f}, m(2, 0.0f), v(2, 0.0f);
  const std::vector<float> g = {0.5f, -4.0f};
  descend::StepBuffers<float, float> b{p.data(), g.data(), m.data(), v.data(), 2};
  descend::step(descend::UpdateRule{descend::Adam{}}, b, 0.1, 1);
  CHECK(near(p[0], 0.9, 1e-6));
  CHECK(near(p[1], -1.9, 1e-6));
  CHECK(near(m[0], 0.05, 1e-6) && near(v[1], 0.016, 1e-5));
}

void errors_name_the_argument() {
  descend::FitOptions o;
  o.learning_rate = descend::Schedule::constant(-1.0);
  std::vector<double> coef = {0.0, 0.0};
  double intercept = 0.0;
  bool thrown = false;
  try {
    descend::fit(textbook(), coef.data(), &intercept, o);
  } catch (const std::invalid_argument& e) {
    thrown = std::string(e.what()).find("learning_rate") != std::string::npos;
  }
  CHECK(thrown);
  CHECK(coef[0] == 0.0 && coef[1] == 0.0);  // raised before any work
}

void any_thread_count_gives_the_same_bits() {
  const index_t n = 50000, d = 17;
  std::vector<double> X(static_cast<size_t>(n * d)), y(static_cast<size_t>(n)), coef(static_cast<size_t>(d));
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  for (double& v : X) v = normal(rng);
  for (double& v : y) v = normal(rng);
  for (double& v : coef) v = normal(rng);
  const double intercept = 0.25;
  const descend::Dataset<double> data{{X.data(), n, d, Layout::RowMajor}, {y.data(), n}, {}};
  std::vector<double> g1(static_cast<size_t>(d)), g4(static_cast<size_t>(d));
  double b1 = 0.0, b4 = 0.0;
  const double J1 = descend::loss_grad(data, coef.data(), &intercept, descend::LossSpec{}, 0.1, g1.data(), &b1, 1);
  const double J4 = descend::loss_grad(data, coef.data(), &intercept, descend::LossSpec{}, 0.1, g4.data(), &b4, 4);
  CHECK(J1 == J4 && b1 == b4 && g1 == g4);
}

}  // namespace

// |got - truth| in units in the last place of the double nearest truth.
double ulps(double got, long double truth) {
  const double t = std::fabs(double(truth));
  if (t == 0) return got == 0 ? 0.0 : 1e300;
  return double(std::fabs(static_cast<long double>(got) - truth) / (std::nextafter(t, INFINITY) - t));
}

void vmath_is_within_two_ulp() {
  // vmath.hpp's exp(x <= 0) and log1p(e in [0, 1]) against long double
  // libm (the truth where long double is wider; libm's own double result
  // otherwise, within its ulp): normal results, random and at the edges.
  using descend::detail::exp_nonpositive;
  using descend::detail::log1p_unit;
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double worst_exp = 0, worst_log1p = 0;
  for (int i = 0; i < 200000; ++i) {
    // -x spread over magnitudes 1e-17 .. 700: the reduction's every k.
    const double x = -std::exp(unit(gen) * 45.0 - 39.0);
    worst_exp = std::max(worst_exp, ulps(exp_nonpositive(x), std::exp(static_cast<long double>(x))));
    const double e = i % 2 ? unit(gen) : std::exp(x);
    if (e > 0) worst_log1p = std::max(worst_log1p, ulps(log1p_unit(e), std::log1p(static_cast<long double>(e))));
  }
  for (double e : {0.41421356237309503, 0.4142135623730951, 0.41421356237309515, 0.5, 1.0, 1e-300})
    worst_log1p = std::max(worst_log1p, ulps(log1p_unit(e), std::log1p(static_cast<long double>(e))));
  CHECK(worst_exp <= 2.0);
  CHECK(worst_log1p <= 2.0);
  CHECK(exp_nonpositive(0.0) == 1.0 && exp_nonpositive(-0.0) == 1.0);
  CHECK(exp_nonpositive(-std::log(2.0)) == 0.5);
  CHECK(exp_nonpositive(-746.0) == 0.0 && exp_nonpositive(-INFINITY) == 0.0);
  CHECK(exp_nonpositive(-745.0) > 0.0);  // the smallest subnormal, as libm
  CHECK(log1p_unit(0.0) == 0.0 && log1p_unit(1e-300) == 1e-300);
  CHECK(std::isnan(exp_nonpositive(NAN)) && std::isnan(log1p_unit(NAN)));
  // NaN of either sign and infinities: well-defined, no integer overflow
  // on the way (the sanitizer build checks that part).
  CHECK(std::isnan(exp_nonpositive(-NAN)) && std::isnan(exp_nonpositive(-std::fabs(NAN))));
  CHECK(std::isnan(log1p_unit(-NAN)));
}

int main() {
  squared_loss_grad_by_hand();
  logistic_loss_grad_by_hand();
  textbook_loop_matches_the_numpy_loop();
  least_squares_optimum();
  adam_first_step_by_hand();
  errors_name_the_argument();
  any_thread_count_gives_the_same_bits();
  vmath_is_within_two_ulp();
  return descend_test::finish();
}
