// Sparse X through the C++ API: descend::loss_grad and descend::fit on a
// CSR or CSC view (32- and 64-bit indices) equal the same calls on the
// dense matrix, for batch, sgd and minibatch, plain gd (the O(nnz) lazy
// update) and a stateful rule, with l1 and l2; duplicates add up; a
// malformed matrix is refused before any work.
#include <descend/descend.hpp>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "testing.hpp"

namespace {

using descend::index_t;
using descend::SparseFormat;
using descend::SparseView;
using descend_test::near;

// 8 x 5, a third of it zero, row-major.
const index_t n = 8, d = 5;
const std::vector<double> dense = {
    1.0, 0.0, -2.0, 0.0, 0.5,   0.0, 0.0, 1.5, 0.0, 0.0,  -1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, -0.5,
    0.5, 0.5, 0.0, 0.0, 0.0,    0.0, -1.5, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0,  0.0, 1.0, -1.0, 0.0, 0.0};
const std::vector<double> labels = {1, 0, 1, 1, 0, 0, 1, 0};
const std::vector<double> classes = {0, 1, 2, 1, 0, 2, 2, 1};

// The CSR or CSC arrays of `dense`, with index type I.
template <class I>
struct Arrays {
  std::vector<double> data;
  std::vector<I> indices, indptr;
  Arrays(SparseFormat f) {
    const index_t major = f == SparseFormat::CSR ? n : d, minor = f == SparseFormat::CSR ? d : n;
    indptr.push_back(0);
    for (index_t a = 0; a < major; ++a) {
      for (index_t b = 0; b < minor; ++b) {
        const double x = f == SparseFormat::CSR ? dense[a * d + b] : dense[b * d + a];
        if (x != 0.0) {
          data.push_back(x);
          indices.push_back(I(b));
        }
      }
      indptr.push_back(I(data.size()));
    }
  }
  SparseView<double> view(SparseFormat f) const {
    return SparseView<double>::make(f, n, d, data.data(), indices.data(), indptr.data());
  }
};

descend::Dataset<double> dense_data(const std::vector<double>& y) {
  return {{dense.data(), n, d, descend::Layout::RowMajor}, {y.data(), n}, {}};
}

descend::Dataset<double> sparse_data(const SparseView<double>& v, const std::vector<double>& y) {
  return {{}, {y.data(), n}, {}, v};
}

bool all_near(const std::vector<double>& a, const std::vector<double>& b, double rtol) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!near(a[i], b[i], rtol) && std::fabs(a[i] - b[i]) > 1e-15) return false;
  return true;
}

template <class I>
void sparse_equals_dense(SparseFormat f) {
  const Arrays<I> arrays(f);
  for (descend::LossKind kind : {descend::LossKind::Logistic, descend::LossKind::Softmax}) {
    const std::vector<double>& y = kind == descend::LossKind::Softmax ? classes : labels;
    descend::FitOptions opt;
    opt.loss.kind = kind;
    opt.loss.n_classes = 3;
    opt.learning_rate = descend::Schedule::constant(0.2);
    opt.stopping.max_iter = 6;
    opt.stopping.tol.reset();
    opt.l2 = 0.05;
    opt.l1 = 0.02;
    opt.fit_intercept = true;
    opt.batch_size = 3;
    for (descend::Method m : {descend::Method::Batch, descend::Method::SGD, descend::Method::MiniBatch})
      for (const descend::UpdateRule& rule : {descend::UpdateRule(descend::GD{}), descend::UpdateRule(descend::Adam{})}) {
        opt.method = m;
        opt.optimizer = rule;
        const auto a = descend::fit(dense_data(y), opt);
        const auto b = descend::fit(sparse_data(arrays.view(f), y), opt);
        CHECK(all_near(a.coef, b.coef, 1e-12));
        CHECK(all_near(a.intercept, b.intercept, 1e-12));
        CHECK(all_near(a.report.loss_history, b.report.loss_history, 1e-12));
        for (size_t j = 0; j < a.coef.size(); ++j) CHECK((a.coef[j] == 0.0) == (b.coef[j] == 0.0));
      }
  }
  // loss_grad: the objective and gradient at a point.
  const std::vector<double> coef = {0.3, -0.2, 0.1, 0.5, -0.4};
  const double b0 = 0.25;
  descend::LossSpec loss;
  loss.kind = descend::LossKind::Logistic;
  std::vector<double> ga(d), gb(d);
  double ia = 0, ib = 0;
  const double Ja = descend::loss_grad(dense_data(labels), coef.data(), &b0, loss, 0.1, ga.data(), &ia);
  const double Jb =
      descend::loss_grad(sparse_data(arrays.view(f), labels), coef.data(), &b0, loss, 0.1, gb.data(), &ib);
  CHECK(near(Ja, Jb, 1e-14));
  CHECK(all_near(ga, gb, 1e-14));
  CHECK(near(ia, ib, 1e-14));
}

// Row 0 stores column 2 twice (-1.5 and -0.5): the matrix holds their sum.
void duplicates_add_up() {
  Arrays<std::int32_t> arrays(SparseFormat::CSR);
  arrays.data[1] = -1.5;  // row 0: (0, 1.0), (2, -1.5), (4, 0.5) -> add (2, -0.5)
  arrays.data.insert(arrays.data.begin() + 3, -0.5);
  arrays.indices.insert(arrays.indices.begin() + 3, 2);
  for (size_t i = 1; i < arrays.indptr.size(); ++i) ++arrays.indptr[i];
  descend::FitOptions opt;
  opt.method = descend::Method::SGD;
  opt.stopping.max_iter = 3;
  const auto a = descend::fit(dense_data(labels), opt);
  const auto b = descend::fit(sparse_data(arrays.view(SparseFormat::CSR), labels), opt);
  CHECK(all_near(a.coef, b.coef, 1e-12));
}

void malformed_matrices_are_refused() {
  Arrays<std::int64_t> arrays(SparseFormat::CSR);
  auto refused = [&](const char* needle) {
    try {
      descend::fit(sparse_data(arrays.view(SparseFormat::CSR), labels), descend::FitOptions{});
    } catch (const std::invalid_argument& e) {
      return std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
  };
  arrays.indices[2] = d;  // a column past the last
  CHECK(refused("X.indices[2] = 5 is out of range"));
  arrays.indices[2] = -1;
  CHECK(refused("X.indices[2] = -1 is out of range"));
  arrays.indices[2] = 4;
  std::swap(arrays.indptr[2], arrays.indptr[3]);  // decreasing
  CHECK(refused("X.indptr must not decrease"));
  std::swap(arrays.indptr[2], arrays.indptr[3]);
  arrays.data[0] = std::nan("");
  CHECK(refused("X contains NaN"));
}

}  // namespace

int main() {
  sparse_equals_dense<std::int32_t>(SparseFormat::CSR);
  sparse_equals_dense<std::int64_t>(SparseFormat::CSR);
  sparse_equals_dense<std::int32_t>(SparseFormat::CSC);
  sparse_equals_dense<std::int64_t>(SparseFormat::CSC);
  duplicates_add_up();
  malformed_matrices_are_refused();
  return descend_test::finish();
}
