// LIBSVM text (libsvm.hpp): the CSR arrays of a file with comments, blank
// lines, CRLF endings, qid tokens and a label-only row; the rows feed a
// SparseView that fits like the dense matrix; malformed text is refused with
// the line named.
#include <descend/descend.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing.hpp"

namespace {

using descend::LibsvmData;
using descend::parse_libsvm;

LibsvmData parse(const std::string& text) { return parse_libsvm(text.c_str(), text.size()); }

// The message of the invalid_argument that parsing `text` throws ("" if none).
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void arrays_of_a_file() {
  const auto data = parse("# header comment\n+1 1:0.5 3:2e1 # tail\n\n-1 qid:7 2:-1.5\r\n0\n2.5 1:1 4:4");
  CHECK((data.labels == std::vector<double>{1.0, -1.0, 0.0, 2.5}));
  CHECK((data.indptr == std::vector<std::int64_t>{0, 2, 3, 3, 5}));
  CHECK((data.indices == std::vector<std::int64_t>{1, 3, 2, 1, 4}));
  CHECK((data.values == std::vector<double>{0.5, 20.0, -1.5, 1.0, 4.0}));
  CHECK(data.min_index == 1 && data.max_index == 4);
  const auto empty = parse("\n# nothing\n");
  CHECK(empty.labels.empty() && empty.indptr.size() == 1 && empty.max_index == -1);
}

void malformed_text_names_the_line() {
  CHECK(contains(error_of("1 1:1\n1 2:x\n"), "line 2: the value 'x' is not a number"));
  CHECK(contains(error_of("1 1:1\n\n1 a:1\n"), "line 3: the feature index 'a'"));
  CHECK(contains(error_of("1 -2:1\n"), "line 1: the feature index '-2'"));
  CHECK(contains(error_of("1 3:1 3:2\n"), "strictly increasing"));
  CHECK(contains(error_of("yes 1:1\n"), "line 1: the label 'yes' is not a number"));
  CHECK(contains(error_of("1 1:1 7\n"), "'7' is not index:value"));
  CHECK(contains(error_of("1 1:\n"), "the value '' is not a number"));
  CHECK(contains(error_of("1 1:1.5e\n"), "the value '1.5e'"));
}

void rows_fit_like_the_dense_matrix() {
  const auto data = parse("1 1:1 2:-1\n0 2:2\n1 1:0.5 3:1\n0 3:-1\n");
  const std::vector<double> dense = {1, -1, 0, 0, 2, 0, 0.5, 0, 1, 0, 0, -1};
  std::vector<std::int64_t> indices(data.indices);
  for (auto& j : indices) j -= 1;  // 1-based in the file
  descend::FitOptions o;
  o.loss.kind = descend::LossKind::Logistic;
  o.learning_rate = descend::Schedule::constant(0.5);
  o.stopping.max_iter = 30;
  o.stopping.tol.reset();
  o.fit_intercept = true;
  const descend::index_t n = 4, d = 3;
  const auto X = descend::SparseView<double>::make(descend::SparseFormat::CSR, n, d, data.values.data(),
                                                   indices.data(), data.indptr.data());
  const descend::Span<const double> y{data.labels.data(), n};
  const auto sparse = descend::fit(descend::Dataset<double>{{}, y, {}, X}, o);
  const auto full = descend::fit(descend::Dataset<double>{{dense.data(), n, d, descend::Layout::RowMajor}, y, {}}, o);
  for (descend::index_t j = 0; j < d; ++j) CHECK(descend_test::near(sparse.coef[j], full.coef[j], 1e-12));
  CHECK(descend_test::near(sparse.intercept[0], full.intercept[0], 1e-12));
}

void a_missing_file_is_an_error() {
  bool threw = false;
  try {
    descend::read_libsvm("/nonexistent/descend-test.svm");
  } catch (const std::runtime_error& e) {
    threw = contains(e.what(), "cannot open");
  }
  CHECK(threw);
}

}  // namespace

int main() {
  arrays_of_a_file();
  malformed_text_names_the_line();
  rows_fit_like_the_dense_matrix();
  a_missing_file_is_an_error();
  return descend_test::finish();
}
