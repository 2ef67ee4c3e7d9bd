// The public names of losses, methods, update rules and schedules, shared
// by the Python package and native apps, with errors that list the choices.
#pragma once

#include <map>
#include <string>
#include <variant>

#include "errors.hpp"
#include "losses.hpp"
#include "optimizers.hpp"
#include "schedules.hpp"
#include "solver.hpp"

namespace descend {

/// Named numeric parameters, as keyword arguments arrive from a caller.
using NamedParams = std::map<std::string, double>;

/// The loss named `name`; std::invalid_argument listing the choices otherwise.
inline LossKind loss_from_name(const std::string& name) {
  for (LossKind k : {LossKind::Squared, LossKind::Logistic, LossKind::Hinge, LossKind::Huber,
                     LossKind::Softmax})
    if (name == loss_name(k)) return k;
  detail::invalid("unknown loss '", name,
                  "'; expected one of 'squared', 'logistic', 'hinge', 'huber', 'softmax'");
}

/// The method named `name` ("batch", "sgd", "minibatch"); std::invalid_argument otherwise.
inline Method method_from_name(const std::string& name) {
  for (Method m : {Method::Batch, Method::SGD, Method::MiniBatch})
    if (name == method_name(m)) return m;
  detail::invalid("unknown method '", name, "'; expected one of 'batch', 'sgd', 'minibatch'");
}

namespace detail {

// Copies `given` into the fields that `each` (a params()-style visitor)
// names; a name it does not know is an error that lists the known ones.
template <class Visit>
void assign_params(const NamedParams& given, const char* owner, Visit&& each) {
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
      invalid("unexpected keyword argument '", key, "' for ", owner, "; it takes ",
              known.empty() ? std::string("none") : known);
  }
}

template <class Rule>
UpdateRule make_rule(const NamedParams& given) {
  Rule rule;
  assign_params(given, message("optimizer='", Rule::name, "'").c_str(),
                [&](auto&& f) { rule.params(f); });
  return rule;
}

}  // namespace detail

/// The rule called `name` with its hyper-parameters set from `params`
/// (defaults for those not given).
inline UpdateRule optimizer_from_name(const std::string& name, const NamedParams& params = {}) {
  if (name == GD::name) return detail::make_rule<GD>(params);
  if (name == Momentum::name) return detail::make_rule<Momentum>(params);
  if (name == Nesterov::name) return detail::make_rule<Nesterov>(params);
  if (name == Adagrad::name) return detail::make_rule<Adagrad>(params);
  if (name == RMSprop::name) return detail::make_rule<RMSprop>(params);
  if (name == Adam::name) return detail::make_rule<Adam>(params);
  if (name == AdamW::name) return detail::make_rule<AdamW>(params);
  detail::invalid("unknown optimizer '", name,
                  "'; expected one of 'gd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw'");
}

/// The hyper-parameters of a rule by name (what optimizer_from_name takes).
inline NamedParams optimizer_params(UpdateRule rule) {
  NamedParams out;
  std::visit([&](auto& r) { r.params([&](const char* name, double& v) { out[name] = v; }); }, rule);
  return out;
}

/// The schedule called `kind` (descend.schedules' class names) with
/// parameters eta0, power_t, gamma, step_size, t_max, eta_min as it takes them.
inline Schedule schedule_from_name(const std::string& kind, const NamedParams& params) {
  Schedule s;
  bool found = false;
  for (ScheduleKind k : {ScheduleKind::Constant, ScheduleKind::InverseScaling,
                         ScheduleKind::Exponential, ScheduleKind::Step, ScheduleKind::Cosine})
    if (kind == schedule_name(k)) {
      s.kind = k;
      found = true;
    }
  if (!found)
    detail::invalid("unknown schedule '", kind,
                    "'; expected one of Constant, InverseScaling, Exponential, Step, Cosine");
  double step_size = 1, t_max = 1;
  detail::assign_params(params, "a learning-rate schedule", [&](auto&& f) {
    f("eta0", s.eta0);
    f("power_t", s.power_t);
    f("gamma", s.gamma);
    f("step_size", step_size);
    f("t_max", t_max);
    f("eta_min", s.eta_min);
  });
  s.step_size = static_cast<long long>(step_size);
  s.t_max = static_cast<long long>(t_max);
  return s;
}

}  // namespace descend
