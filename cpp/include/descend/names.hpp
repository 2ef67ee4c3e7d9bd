// The public names of losses, methods, update rules and schedules, shared
// by the Python package and native apps: each list is written once here,
// and both the lookups and their errors (which list the choices) use it.
#pragma once

#include <array>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "errors.hpp"
#include "fit_options.hpp"
#include "losses.hpp"
#include "optimizers.hpp"
#include "schedules.hpp"

namespace descend {

/// Named numeric parameters, as keyword arguments arrive from a caller.
using NamedParams = std::map<std::string, double>;

/// Every loss, method and schedule, in the order the documentation lists them.
constexpr std::array<LossKind, 5> all_losses = {LossKind::Squared, LossKind::Logistic, LossKind::Hinge,
                                                LossKind::Huber, LossKind::Softmax};
constexpr std::array<Method, 3> all_methods = {Method::Batch, Method::SGD, Method::MiniBatch};
constexpr std::array<ScheduleKind, 6> all_schedules = {ScheduleKind::Constant,    ScheduleKind::InverseScaling,
                                                       ScheduleKind::Exponential, ScheduleKind::Step,
                                                       ScheduleKind::Cosine,      ScheduleKind::ReduceOnPlateau};
/// What a fit may do when its objective diverges (on_divergence=).
constexpr std::array<OnDivergence, 2> all_on_divergence = {OnDivergence::Raise, OnDivergence::Retry};

namespace detail {
template <std::size_t... I>
std::vector<UpdateRule> each_rule(std::index_sequence<I...>) {
  return {UpdateRule(std::variant_alternative_t<I, UpdateRule>{})...};
}
}  // namespace detail

/// Every update rule at its default hyper-parameters, in UpdateRule's order.
inline std::vector<UpdateRule> all_optimizers() {
  return detail::each_rule(std::make_index_sequence<std::variant_size_v<UpdateRule>>{});
}

namespace detail {

// "'a', 'b', 'c'" (quote = true) or "a, b, c" for the names of `items`.
template <class List, class Name>
std::string join_names(const List& items, Name&& name, bool quote) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += quote ? "'" + std::string(name(item)) + "'" : std::string(name(item));
  }
  return out;
}

// The item of `items` called `name`; std::invalid_argument listing the
// choices, as "unknown <what> '<name>'; expected one of ...", otherwise.
template <class List, class Name>
auto find_by_name(const List& items, Name&& name_of, const std::string& name, const char* what, bool quote) {
  for (const auto& item : items)
    if (name == name_of(item)) return item;
  invalid("unknown ", what, " '", name, "'; expected one of ", join_names(items, name_of, quote));
}

// Copies `given` into the fields that `each` (a params()-style visitor)
// names; a name it does not know is an UnknownParameter that lists the
// known ones.
template <class Visit>
void assign_params(const NamedParams& given, const std::string& owner, Visit&& each) {
  for (const auto& [key, value] : given) {
    bool found = false;
    std::string known;
    each([&](const char* name, double& field) {
      known += known.empty() ? "" : ", ";
      known += name;
      if (key == name) {
        field = value;
        found = true;
      }
    });
    if (!found)
      throw UnknownParameter(message("unexpected keyword argument '", key, "' for ", owner, "; it takes ",
                                     known.empty() ? std::string("none") : known));
  }
}

}  // namespace detail

/// The loss named `name`; std::invalid_argument listing the choices otherwise.
inline LossKind loss_from_name(const std::string& name) {
  return detail::find_by_name(all_losses, loss_name, name, "loss", true);
}

/// The method named `name` ("batch", "sgd", "minibatch"); std::invalid_argument otherwise.
inline Method method_from_name(const std::string& name) {
  return detail::find_by_name(all_methods, method_name, name, "method", true);
}

/// The on_divergence choice named `name` ("raise", "retry"); std::invalid_argument otherwise.
inline OnDivergence on_divergence_from_name(const std::string& name) {
  return detail::find_by_name(all_on_divergence, on_divergence_name, name, "on_divergence", true);
}

/// The hyper-parameters of a rule by name (what optimizer_from_name takes).
inline NamedParams optimizer_params(UpdateRule rule) {
  NamedParams out;
  std::visit([&](auto& r) { r.params([&](const char* name, double& v) { out[name] = v; }); }, rule);
  return out;
}

/// The rule called `name` with its hyper-parameters set from `params`
/// (defaults for those not given); UnknownParameter for a hyper-parameter
/// the rule does not take.
inline UpdateRule optimizer_from_name(const std::string& name, const NamedParams& params = {}) {
  UpdateRule rule = detail::find_by_name(all_optimizers(), optimizer_name, name, "optimizer", true);
  std::visit(
      [&](auto& r) {
        detail::assign_params(params, detail::message("optimizer='", name, "'"), [&](auto&& f) { r.params(f); });
      },
      rule);
  return rule;
}

/// The schedule called `kind` (descend.schedules' class names) with
/// parameters eta0, power_t, gamma, step_size, t_max, eta_min, factor,
/// patience, threshold, min_lr as it takes them.
inline Schedule schedule_from_name(const std::string& kind, const NamedParams& params) {
  Schedule s;
  s.kind = detail::find_by_name(all_schedules, schedule_name, kind, "schedule", false);
  double step_size = 1, t_max = 1, patience = double(s.patience);
  detail::assign_params(params, "a learning-rate schedule", [&](auto&& f) {
    f("eta0", s.eta0);
    f("power_t", s.power_t);
    f("gamma", s.gamma);
    f("step_size", step_size);
    f("t_max", t_max);
    f("eta_min", s.eta_min);
    f("factor", s.factor);
    f("patience", patience);
    f("threshold", s.threshold);
    f("min_lr", s.min_lr);
  });
  s.step_size = static_cast<long long>(step_size);
  s.t_max = static_cast<long long>(t_max);
  s.patience = static_cast<long long>(patience);
  return s;
}

/// {parameter: default} of every Schedule field, by schedule_from_name's
/// names (Schedule{}'s values: the defaults descend.schedules shows).
inline NamedParams schedule_defaults() {
  const Schedule s;
  return {{"eta0", s.eta0},         {"power_t", s.power_t},
          {"gamma", s.gamma},       {"step_size", double(s.step_size)},
          {"t_max", double(s.t_max)}, {"eta_min", s.eta_min},
          {"factor", s.factor},     {"patience", double(s.patience)},
          {"threshold", s.threshold}, {"min_lr", s.min_lr}};
}

}  // namespace descend
