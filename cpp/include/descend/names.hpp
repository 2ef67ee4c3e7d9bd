// The public names of losses, methods and update rules, shared by the
// Python package and native apps, with errors that list the choices.
#pragma once

#include <string>

#include "errors.hpp"
#include "losses.hpp"
#include "optimizers.hpp"
#include "solver.hpp"

namespace descend {

inline LossKind loss_from_name(const std::string& name) {
  if (name == "squared") return LossKind::Squared;
  if (name == "logistic") return LossKind::Logistic;
  detail::invalid("unknown loss '", name, "'; expected one of 'squared', 'logistic'");
}

inline Method method_from_name(const std::string& name) {
  if (name == "batch") return Method::Batch;
  if (name == "sgd") return Method::SGD;
  if (name == "minibatch") return Method::MiniBatch;
  detail::invalid("unknown method '", name, "'; expected one of 'batch', 'sgd', 'minibatch'");
}

inline UpdateRule optimizer_from_name(const std::string& name) {
  if (name == "gd") return GD{};
  detail::invalid("unknown optimizer '", name, "'; expected one of 'gd'");
}

}  // namespace descend
