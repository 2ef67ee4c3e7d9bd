// The Gram path (gram.hpp) through the C++ API: a squared-loss batch fit
// with Precompute::Always equals the streaming fit (Precompute::Never) to
// rounding, for row- and column-major X, weights and an intercept, l1 and
// l2; its bits do not depend on the thread count; a CSR X forms the same
// S as the dense one; precompute for another loss is refused.
#include <descend/descend.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing.hpp"

namespace {

using descend::Dataset;
using descend::FitOptions;
using descend::index_t;
using descend::Layout;
using descend::Precompute;
using descend_test::near;

// n x d uniform X in [-1, 1) (row-major), y = X beta + 0.5 + noise, weights in [0.5, 1.5).
struct Problem {
  index_t n, d;
  std::vector<double> X, Xf, y, w;
  Problem(index_t n_, index_t d_) : n(n_), d(d_), X(n_ * d_), Xf(n_ * d_), y(n_), w(n_) {
    descend::Random rng(42);
    auto uniform = [&] { return double(rng.next() >> 11) * 0x1.0p-53 * 2.0 - 1.0; };
    std::vector<double> beta(d);
    for (double& b : beta) b = uniform();
    for (index_t i = 0; i < n; ++i) {
      double p = 0.5;
      for (index_t j = 0; j < d; ++j) {
        X[i * d + j] = Xf[i + j * n] = uniform();
        p += X[i * d + j] * beta[j];
      }
      y[i] = p + 0.1 * uniform();
      w[i] = 1.0 + 0.5 * uniform();
    }
  }
  Dataset<double> data(Layout layout, bool weights) const {
    return {{layout == Layout::RowMajor ? X.data() : Xf.data(), n, d, layout}, {y.data(), n},
            weights ? descend::Span<const double>(w) : descend::Span<const double>{}};
  }
};

FitOptions options(Precompute precompute, int n_threads = 0) {
  FitOptions o;
  o.learning_rate = descend::Schedule::constant(0.2);
  o.fit_intercept = true;
  o.l2 = 0.01;
  o.l1 = 0.001;
  o.stopping.max_iter = 500;
  o.stopping.tol.reset();
  o.precompute = precompute;
  o.n_threads = n_threads;
  return o;
}

bool all_near(const std::vector<double>& a, const std::vector<double>& b, double rtol) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!near(a[i], b[i], rtol) && std::fabs(a[i] - b[i]) > 1e-15) return false;
  return true;
}

void gram_equals_streaming() {
  const Problem pb(700, 9);
  for (Layout layout : {Layout::RowMajor, Layout::ColMajor})
    for (bool weights : {false, true}) {
      const auto data = pb.data(layout, weights);
      const auto a = descend::fit(data, options(Precompute::Always));
      const auto b = descend::fit(data, options(Precompute::Never));
      CHECK(all_near(a.coef, b.coef, 1e-10));
      CHECK(all_near(a.intercept, b.intercept, 1e-10));
      CHECK(all_near(a.report.loss_history, b.report.loss_history, 1e-10));
      CHECK(a.report.n_iter == b.report.n_iter);
    }
}

void gram_bits_do_not_depend_on_threads() {
  const Problem pb(3000, 40);
  const auto data = pb.data(Layout::RowMajor, true);
  const auto one = descend::fit(data, options(Precompute::Always, 1));
  for (int threads : {2, 3, 5}) {
    const auto many = descend::fit(data, options(Precompute::Always, threads));
    CHECK(one.coef == many.coef);
    CHECK(one.report.loss_history == many.report.loss_history);
  }
}

void csr_forms_the_same_gram_matrix() {
  const Problem pb(300, 6);
  std::vector<double> values;
  std::vector<std::int64_t> indices, indptr{0};
  for (index_t i = 0; i < pb.n; ++i) {
    for (index_t j = 0; j < pb.d; ++j)
      if ((i + j) % 3 != 0) {  // a third of the entries left out
        values.push_back(pb.X[i * pb.d + j]);
        indices.push_back(j);
      }
    indptr.push_back(std::int64_t(values.size()));
  }
  std::vector<double> dense(pb.n * pb.d, 0.0);
  for (index_t i = 0; i < pb.n; ++i)
    for (auto e = indptr[i]; e < indptr[i + 1]; ++e) dense[i * pb.d + indices[e]] = values[e];
  const Dataset<double> sparse{{}, {pb.y.data(), pb.n}, {pb.w.data(), pb.n},
                               descend::SparseView<double>::make(descend::SparseFormat::CSR, pb.n, pb.d,
                                                                 values.data(), indices.data(), indptr.data())};
  const Dataset<double> same{{dense.data(), pb.n, pb.d, Layout::RowMajor}, {pb.y.data(), pb.n}, {pb.w.data(), pb.n}};
  const auto a = descend::fit(sparse, options(Precompute::Always));
  const auto b = descend::fit(same, options(Precompute::Always));
  CHECK(all_near(a.coef, b.coef, 1e-12));
  CHECK(all_near(a.report.loss_history, b.report.loss_history, 1e-12));
}

void precompute_needs_squared_batch() {
  const Problem pb(50, 3);
  FitOptions o = options(Precompute::Always);
  o.loss.kind = descend::LossKind::Logistic;
  std::string message;
  try {
    descend::validate_options(o);
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  CHECK(message.find("precompute=True needs loss='squared'") != std::string::npos);
}

}  // namespace

int main() {
  gram_equals_streaming();
  gram_bits_do_not_depend_on_threads();
  csr_forms_the_same_gram_matrix();
  precompute_needs_squared_batch();
  return descend_test::finish();
}
