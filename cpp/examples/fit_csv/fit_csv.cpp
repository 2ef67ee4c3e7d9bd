// fit_csv: fits a linear model to a CSV file with descend's C++ core and
// prints the coefficients.
//
//   fit_csv FILE.csv [--target COL] [--loss squared|logistic|huber|hinge]
//           [--method batch|sgd|minibatch] [--learning-rate X|auto] [--max-iter N]
//
// FILE.csv has a header row of column names and numbers below it; the
// target is the last column unless --target names another.
#include <descend/descend.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  return cells;
}

struct Table {
  std::vector<std::string> names;
  std::vector<std::vector<double>> rows;
};

Table read_csv(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  Table t;
  std::string line;
  if (!std::getline(file, line)) throw std::runtime_error(path + " is empty");
  t.names = split(line);
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    const auto cells = split(line);
    if (cells.size() != t.names.size())
      throw std::runtime_error("row " + std::to_string(t.rows.size() + 2) + " of " + path + " has " +
                               std::to_string(cells.size()) + " cells, the header " +
                               std::to_string(t.names.size()));
    std::vector<double> row;
    for (const auto& c : cells) row.push_back(std::stod(c));
    t.rows.push_back(row);
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << "usage: fit_csv FILE.csv [--target COL] [--loss L] [--method M] "
                 "[--learning-rate X|auto] [--max-iter N]\n";
    return 2;
  }
  std::string target, loss = "squared", method = "batch", lr = "auto";
  long max_iter = 1000;
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string key = argv[a], value = argv[a + 1];
    if (key == "--target") target = value;
    else if (key == "--loss") loss = value;
    else if (key == "--method") method = value;
    else if (key == "--learning-rate") lr = value;
    else if (key == "--max-iter") max_iter = std::stol(value);
    else throw std::invalid_argument("unknown option " + key);
  }
  const Table t = read_csv(argv[1]);
  const size_t cols = t.names.size();
  size_t ty = cols - 1;
  if (!target.empty()) {
    ty = cols;
    for (size_t j = 0; j < cols; ++j)
      if (t.names[j] == target) ty = j;
    if (ty == cols) throw std::invalid_argument("no column named " + target);
  }

  // X row-major without the target column, y the target.
  const descend::index_t n = static_cast<descend::index_t>(t.rows.size()), d = descend::index_t(cols) - 1;
  std::vector<double> X, y;
  std::vector<std::string> features;
  for (size_t j = 0; j < cols; ++j)
    if (j != ty) features.push_back(t.names[j]);
  for (const auto& row : t.rows) {
    for (size_t j = 0; j < cols; ++j)
      if (j != ty) X.push_back(row[j]);
    y.push_back(row[ty]);
  }

  descend::FitOptions options;
  options.loss.kind = descend::loss_from_name(loss);
  options.method = descend::method_from_name(method);
  if (lr == "auto") options.auto_learning_rate = true;
  else options.learning_rate = descend::Schedule::constant(std::stod(lr));
  options.stopping.max_iter = max_iter;
  options.fit_intercept = true;

  const descend::Dataset<double> data{{X.data(), n, d, descend::Layout::RowMajor}, {y.data(), n}, {}};
  std::vector<double> coef(static_cast<size_t>(d), 0.0);
  double intercept = 0.0;
  const descend::FitReport report = descend::fit(data, coef.data(), &intercept, options);

  std::cout << report.message << "; objective " << report.loss_history.back() << "\n";
  std::cout.precision(10);
  for (size_t j = 0; j < features.size(); ++j) std::cout << features[j] << " " << coef[j] << "\n";
  std::cout << "intercept " << intercept << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fit_csv: " << e.what() << "\n";
  return 1;
}
