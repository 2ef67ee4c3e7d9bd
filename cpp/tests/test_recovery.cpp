// ReduceOnPlateau and on_divergence = Retry through the C++ API: the
// plateau rule on a sequence worked by hand and replayed from a run's own
// loss_history; learning_rate_history for a pure schedule; a retried fit
// against the plain fit from its restart point at a tenth of the rate
// (the same arithmetic, so bit for bit); six divergences throw; sparse X
// (the lazy sgd path) against dense X; the checks and their messages;
// values at the double range's edge.
#include <descend/descend.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing.hpp"

namespace {

using descend::index_t;
using descend::Method;
using descend::OnDivergence;
using descend::Schedule;
using descend::ScheduleKind;
using descend_test::near;
using descend_test::textbook;

Schedule plateau(double eta0, double factor, long long patience, double threshold, double min_lr) {
  Schedule s;
  s.kind = ScheduleKind::ReduceOnPlateau;
  s.eta0 = eta0;
  s.factor = factor;
  s.patience = patience;
  s.threshold = threshold;
  s.min_lr = min_lr;
  return s;
}

// Whether f() throws E with `part` in its message.
template <class E, class F>
bool throws_with(F&& f, const std::string& part) {
  try {
    f();
  } catch (const E& e) {
    return std::string(e.what()).find(part) != std::string::npos;
  }
  return false;
}

void plateau_rule_by_hand() {
  // eta0 1, factor 1/2, patience 2, threshold 10%, floor 0.2. Objectives:
  // 10 sets best; 9.5 and 9.2 are not below 9 (bad 1, 2: eta 0.5); 8 is
  // (best 8); 7.5, 7.3 are not below 7.2 (eta 0.25); two more (eta
  // max(0.125, 0.2) = 0.2), two more (stays at the floor).
  descend::ScheduleRun run(plateau(1.0, 0.5, 2, 0.1, 0.2));
  const double objectives[] = {10, 9.5, 9.2, 8, 7.5, 7.3, 7.3, 7.3, 7.3, 7.3};
  const double after[] = {1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2};
  CHECK(run.at(0) == 1.0);
  for (int k = 0; k < 10; ++k) {
    run.check(objectives[k]);
    CHECK(run.at(k) == after[k]);
    CHECK(run.at(1000 + k) == after[k]);  // not a function of t
  }
  // The other kinds ignore the objective.
  Schedule step;
  step.kind = ScheduleKind::Step;
  step.eta0 = 1.0;
  step.step_size = 2;
  descend::ScheduleRun pure(step);
  for (int k = 0; k < 5; ++k) pure.check(1.0);
  CHECK(pure.at(3) == step.at(3));
}

// The plateau rule over a run's history: entry k is the rate in force
// during check k, before its objective is seen.
std::vector<double> plateau_rates(const std::vector<double>& history, const Schedule& s) {
  std::vector<double> rates;
  double eta = s.eta0, best = 0;
  long long bad = 0;
  for (size_t k = 0; k < history.size(); ++k) {
    rates.push_back(eta);
    if (k == 0 || history[k] < best * (1 - s.threshold)) {
      best = history[k];
      bad = 0;
    } else if (++bad == s.patience) {
      eta = std::max(eta * s.factor, s.min_lr);
      bad = 0;
    }
  }
  return rates;
}

void plateau_in_fit_follows_the_rule() {
  for (Method m : {Method::Batch, Method::SGD, Method::MiniBatch}) {
    descend::FitOptions o;
    o.method = m;
    o.batch_size = 2;
    o.shuffle = false;
    // A high threshold makes slow progress a plateau early on.
    o.learning_rate = plateau(0.02, 0.5, 2, 0.3, 0.001);
    o.stopping.tol.reset();
    o.stopping.max_iter = 40;
    const auto r = descend::fit(textbook(), o);
    const auto& h = r.report.learning_rate_history;
    CHECK(h.size() == r.report.loss_history.size());
    CHECK(h == plateau_rates(r.report.loss_history, o.learning_rate));
    CHECK(h.back() < h.front());  // it did reduce
    // With the rate it started at throughout, another result.
    descend::FitOptions constant = o;
    constant.learning_rate = Schedule::constant(0.02);
    CHECK(descend::fit(textbook(), constant).coef != r.coef);
  }
}

void learning_rate_history_of_a_pure_schedule() {
  Schedule s;
  s.kind = ScheduleKind::Exponential;
  s.eta0 = 0.01;
  s.gamma = 0.9;
  for (Method m : {Method::Batch, Method::SGD}) {
    descend::FitOptions o;
    o.method = m;
    o.learning_rate = s;
    o.stopping.tol.reset();
    o.stopping.max_iter = 7;
    const auto r = descend::fit(textbook(), o);
    const long long per_check = m == Method::Batch ? 1 : 3;  // sgd: 3 rows an epoch
    CHECK(r.report.learning_rate_history.size() == 7);
    for (long long k = 0; k < 7; ++k) CHECK(r.report.learning_rate_history[k] == s.at(k * per_check));
  }
}

// The checks a run passed, as an observer saw them.
struct Check {
  index_t iteration;  // 1-based
  double objective;
  std::vector<double> theta;  // coef, intercept
};

// A textbook fit at `lr` that raises, and the checks it passed.
std::vector<Check> diverging_run(descend::FitOptions o, double lr) {
  std::vector<Check> seen;
  descend::Observer<double> obs;
  obs.on_iteration = [&](const descend::Progress<double>& p) {
    seen.push_back({p.iteration, p.objective, {p.coef[0], p.coef[1], *p.intercept}});
    return false;
  };
  o.learning_rate = Schedule::constant(lr);
  o.on_divergence = OnDivergence::Raise;
  double coef[2] = {0, 0}, intercept = 0;
  const bool raised = throws_with<descend::DivergenceError>(
      [&] { descend::fit(textbook(), coef, &intercept, o, &obs); }, "diverged");
  CHECK(raised);
  return seen;
}

void retry_is_a_plain_fit_from_the_restart_point() {
  // gd on the textbook least squares has L = 2 lambda_max(X^T X / 3) ~ 21:
  // 0.3 diverges, 0.03 converges.
  for (Method m : {Method::Batch, Method::SGD, Method::MiniBatch}) {
    descend::FitOptions o;
    o.method = m;
    o.batch_size = 2;
    o.seed = 7;
    o.fit_intercept = true;
    o.stopping.tol.reset();
    o.stopping.max_iter = 60;
    const std::vector<Check> seen = diverging_run(o, 0.3);
    // The restart point: the lowest objective checked (the latest of
    // equals). batch checks a point before stepping from it, so a restart
    // checks it again; an epoch is checked where it ended, and before the
    // first one the start competes with its objective over all rows.
    Check best{0, std::numeric_limits<double>::infinity(), {0, 0, 0}};
    if (m != Method::Batch) {
      double g[2], gb;
      best.objective = descend::loss_grad(textbook(), best.theta.data(), &best.theta[2], o.loss, 0.0, g, &gb);
    }
    for (const Check& c : seen)
      if (c.objective <= best.objective) best = c;
    const index_t keep = m == Method::Batch ? best.iteration - 1 : best.iteration;

    o.learning_rate = Schedule::constant(0.3);
    o.on_divergence = OnDivergence::Retry;
    const auto retried = descend::fit(textbook(), o);
    descend::FitOptions plain = o;
    plain.learning_rate = Schedule::constant(0.3 / 10);
    plain.on_divergence = OnDivergence::Raise;
    plain.stopping.max_iter = o.stopping.max_iter - keep;
    std::vector<double> coef(best.theta.begin(), best.theta.begin() + 2);
    double intercept = best.theta[2];
    const auto rest = descend::fit(textbook(), coef.data(), &intercept, plain);

    const auto& r = retried.report;
    CHECK(r.retries == 1);
    CHECK(r.learning_rate == 0.3 / 10);
    CHECK(retried.coef == coef);
    CHECK(retried.intercept[0] == intercept);
    CHECK(r.loss_history.size() == size_t(keep) + rest.loss_history.size());
    for (index_t k = 0; k < keep; ++k) CHECK(r.loss_history[k] == seen[k].objective);
    CHECK(std::equal(rest.loss_history.begin(), rest.loss_history.end(), r.loss_history.begin() + keep));
    CHECK(r.learning_rate_history[keep] == 0.03 && (keep == 0 || r.learning_rate_history[keep - 1] == 0.3));
    CHECK(r.message.find("(after 1 retry: learning rate divided by 10)") != std::string::npos);
    CHECK(r.status == rest.status);
  }
}

void retries_stop_after_five() {
  descend::FitOptions o;
  o.stopping.tol.reset();
  o.stopping.max_iter = 200;
  o.on_divergence = OnDivergence::Retry;
  // 0.3e4 needs five divisions by 10 to reach 0.03; 0.3e5 would need six.
  o.learning_rate = Schedule::constant(0.3e4);
  const auto five = descend::fit(textbook(), o);
  CHECK(five.report.retries == 5);
  CHECK(near(five.report.learning_rate, 0.03, 1e-14));
  CHECK(five.report.message.find("(after 5 retries: learning rate divided by 100000)") != std::string::npos);
  o.learning_rate = Schedule::constant(0.3e5);
  CHECK(throws_with<descend::DivergenceError>([&] { descend::fit(textbook(), o); },
                                              "(after 5 retries: learning rate divided by 100000)"));
  // Raise gives up at once.
  o.on_divergence = OnDivergence::Raise;
  CHECK(throws_with<descend::DivergenceError>([&] { descend::fit(textbook(), o); }, "try a smaller"));
  // A start whose objective is not finite is no step size's fault.
  o.on_divergence = OnDivergence::Retry;
  o.learning_rate = Schedule::constant(0.01);
  double coef[2] = {1e200, 1e200}, intercept = 0;
  CHECK(throws_with<descend::DivergenceError>([&] { descend::fit(textbook(), coef, &intercept, o); },
                                              "not finite at the start"));
  CHECK(throws_with<descend::DivergenceError>([&] { descend::fit(textbook(), coef, &intercept, o); },
                                              "cannot help"));
}

void retry_scales_the_whole_schedule() {
  // Cosine from 3 to 1 over 10 updates diverges (2/L ~ 0.094 here), and
  // so does a tenth of it; a hundredth (0.03 to 0.01, from t = 0) does not.
  Schedule s;
  s.kind = ScheduleKind::Cosine;
  s.eta0 = 3;
  s.eta_min = 1;
  s.t_max = 10;
  descend::FitOptions o;
  o.learning_rate = s;
  o.stopping.tol.reset();
  o.stopping.max_iter = 100;
  o.on_divergence = OnDivergence::Retry;
  const auto r = descend::fit(textbook(), o).report;
  CHECK(r.retries == 2);
  Schedule scaled = s;
  for (int i = 0; i < r.retries; ++i) scaled = scaled.divided_by(10);
  const auto& h = r.learning_rate_history;
  size_t start = h.size();
  while (start > 0 && h[start - 1] <= scaled.eta0) --start;  // the final attempt's checks
  for (size_t k = start; k < h.size(); ++k) CHECK(h[k] == scaled.at(long(k - start)));
  CHECK(h.size() - start >= 20 && h.back() == scaled.eta_min);  // the floor scaled too
  CHECK(r.learning_rate == scaled.eta0);
}

// 6 x 3, mostly zeros, row-major, and its CSR arrays.
const std::vector<double> X6 = {1, 0, 2, 0, 0, -1, 0, 3, 0, 1, 0, 0, 0, -2, 1, 0, 0, 0.5};
const std::vector<double> y6 = {1, -1, 2, 0.5, -1, 0.3};

void sparse_lazy_sgd_equals_dense() {
  std::vector<double> data;
  std::vector<std::int32_t> indices, indptr = {0};
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 3; ++j)
      if (X6[i * 3 + j] != 0) {
        data.push_back(X6[i * 3 + j]);
        indices.push_back(j);
      }
    indptr.push_back(std::int32_t(data.size()));
  }
  const descend::Dataset<double> dense{{X6.data(), 6, 3, descend::Layout::RowMajor}, {y6.data(), 6}, {}};
  const descend::Dataset<double> sparse{
      {}, {y6.data(), 6}, {},
      descend::SparseView<double>::make(descend::SparseFormat::CSR, 6, 3, data.data(), indices.data(), indptr.data())};
  for (double l1 : {0.0, 0.01}) {
    descend::FitOptions o;
    o.method = Method::SGD;  // plain gd over a sparse X: the lazy O(nnz) update
    o.l2 = 0.05;
    o.l1 = l1;
    o.fit_intercept = true;
    o.stopping.tol.reset();
    o.stopping.max_iter = 30;
    for (bool retry : {false, true}) {
      o.learning_rate = retry ? Schedule::constant(8.0) : plateau(0.2, 0.5, 1, 0.05, 0.0);
      o.on_divergence = retry ? OnDivergence::Retry : OnDivergence::Raise;
      const auto a = descend::fit(dense, o), b = descend::fit(sparse, o);
      CHECK(a.report.learning_rate_history == b.report.learning_rate_history);
      CHECK(a.report.retries == b.report.retries);
      CHECK(retry ? a.report.retries >= 1 : a.report.learning_rate_history.back() < 0.2);
      CHECK(a.report.loss_history.size() == b.report.loss_history.size());
      for (size_t k = 0; k < a.report.loss_history.size(); ++k)
        CHECK(near(b.report.loss_history[k], a.report.loss_history[k], 1e-12));
      for (int j = 0; j < 3; ++j) CHECK(std::fabs(b.coef[j] - a.coef[j]) <= 1e-12 * (1 + std::fabs(a.coef[j])));
    }
  }
}

void checks_and_messages() {
  auto bad = [](Schedule s, const std::string& part) {
    return throws_with<std::invalid_argument>([&] { descend::validate_learning_rate(s, "learning_rate"); }, part);
  };
  CHECK(bad(plateau(1, 1.0, 5, 0, 0), "factor must be in (0, 1), got 1"));
  CHECK(bad(plateau(1, 0.0, 5, 0, 0), "factor must be in (0, 1), got 0"));
  CHECK(bad(plateau(1, 0.5, 0, 0, 0), "patience must be >= 1, got 0"));
  CHECK(bad(plateau(1, 0.5, 5, -1, 0), "threshold must be a finite number >= 0, got -1"));
  CHECK(bad(plateau(1, 0.5, 5, 0, 2), "min_lr must be in [0, eta0], got 2"));
  CHECK(bad(plateau(1, 0.5, 5, 0, -1), "min_lr must be in [0, eta0], got -1"));
  CHECK(bad(plateau(0, 0.5, 5, 0, 0), "eta0 must be a finite number > 0, got 0"));
  CHECK(!bad(plateau(1, 0.5, 5, 0, 1), ""));
  // The defaults are PyTorch's threshold and scikit-learn's adaptive factor and patience.
  const Schedule d = descend::schedule_from_name("ReduceOnPlateau", {{"eta0", 0.5}});
  CHECK(d.watches_objective() && d.factor == 0.2 && d.patience == 5 && d.threshold == 1e-4 && d.min_lr == 0);
  const Schedule named = descend::schedule_from_name(
      "ReduceOnPlateau", {{"eta0", 0.5}, {"factor", 0.3}, {"patience", 3}, {"threshold", 0.01}, {"min_lr", 0.1}});
  CHECK(named.factor == 0.3 && named.patience == 3 && named.threshold == 0.01 && named.min_lr == 0.1);
  // An optimizer stepping on gradients has no objective to watch.
  CHECK(throws_with<std::invalid_argument>(
      [] { descend::Optimizer<double>(descend::GD{}, 2, plateau(1, 0.5, 5, 0, 0)); }, "ReduceOnPlateau"));
  // Nor do epochs run one at a time, which do not restart either.
  descend::FitOptions o;
  o.method = Method::SGD;
  o.learning_rate = plateau(1, 0.5, 5, 0, 0);
  CHECK(throws_with<std::invalid_argument>([&] { descend::EpochRunner<double>(textbook(), o); },
                                           "learning_rate=ReduceOnPlateau"));
  o.learning_rate = Schedule::constant(0.01);
  o.on_divergence = OnDivergence::Retry;
  CHECK(throws_with<std::invalid_argument>([&] { descend::EpochRunner<double>(textbook(), o); },
                                           "on_divergence='retry'"));
  CHECK(descend::on_divergence_from_name("retry") == OnDivergence::Retry);
  CHECK(throws_with<std::invalid_argument>([] { descend::on_divergence_from_name("nope"); },
                                           "unknown on_divergence 'nope'; expected one of 'raise', 'retry'"));
  CHECK(descend::FitOptions{}.on_divergence == OnDivergence::Raise);
}

// Values at the double range's edge (RELIABILITY.md's C1, C3, C5, C6).
void overflow_edges() {
  using descend::detail::inverse_lipschitz;
  using descend::detail::norm_of;
  // A norm is the plain sum's where that is finite, and scaled where the
  // squares overflow though the norm does not.
  auto norm = [](const std::vector<double>& v) {
    return norm_of(index_t(v.size()), [&](index_t j, double m) {
      const double x = v[static_cast<size_t>(j)] / m;
      return x * x;
    });
  };
  CHECK(norm({3.0, 4.0}) == 5.0);
  CHECK(near(norm({3e300, 4e300}), 5e300, 1e-15));
  CHECK(near(norm({5e299, 0.5}), 5e299, 1e-15));
  CHECK(std::isinf(norm({1.0, std::numeric_limits<double>::infinity()})));
  CHECK(std::isnan(norm({1e300, std::numeric_limits<double>::quiet_NaN()})));
  // An 'auto' (or 'bb') step of 1/L where L overflows is refused.
  CHECK(inverse_lipschitz(4.0) == 0.25 && inverse_lipschitz(0.0) == 1.0);
  CHECK(throws_with<std::invalid_argument>([] { inverse_lipschitz(std::numeric_limits<double>::infinity(), "bb"); },
                                           "learning_rate='bb' takes steps of 1/L"));
  const std::vector<double> huge_x{1e300, 2e300, 3e300}, ones{1.0, 1.0, 1.0}, huge_y{1e200, 1e200, 1e200};
  const descend::Dataset<double> huge{{huge_x.data(), 3, 1, descend::Layout::RowMajor}, {ones.data(), 3}, {}};
  for (const Method m : {Method::Batch, Method::SGD}) {
    descend::FitOptions o;
    o.method = m;
    o.auto_learning_rate = true;
    double coef = 0, intercept = 0;
    CHECK(throws_with<std::invalid_argument>([&] { descend::fit(huge, &coef, &intercept, o); }, "overflows"));
  }
  // sgd from a start whose objective is not finite says so (its first
  // check is a mean over the epoch's updates: the start takes a pass).
  const descend::Dataset<double> far{{ones.data(), 3, 1, descend::Layout::RowMajor}, {huge_y.data(), 3}, {}};
  descend::FitOptions o;
  o.method = Method::SGD;
  o.learning_rate = Schedule::constant(0.01);
  double coef = 0, intercept = 0;
  CHECK(throws_with<descend::DivergenceError>([&] { descend::fit(far, &coef, &intercept, o); },
                                              "not finite at the start"));
  // Adagrad at lr = 1e300: lr g overflows, the update (-lr) does not.
  descend::Optimizer<double> adagrad(descend::Adagrad{}, 1, Schedule::constant(1e300));
  double p = 0.0;
  const double g = 1e10;
  adagrad.step({&p, 1}, {&g, 1});
  CHECK(near(p, -1e300, 1e-12));
}

}  // namespace

int main() {
  plateau_rule_by_hand();
  plateau_in_fit_follows_the_rule();
  learning_rate_history_of_a_pure_schedule();
  retry_is_a_plain_fit_from_the_restart_point();
  retries_stop_after_five();
  retry_scales_the_whole_schedule();
  sparse_lazy_sgd_equals_dense();
  checks_and_messages();
  overflow_edges();
  return descend_test::finish();
}
