// The public names and defaults the Python layer takes from the core, so
// each is written once (names.hpp, the rules' structs, FitOptions), and
// the core's UnknownParameter as Python's TypeError for an unexpected
// keyword.
#include <pybind11/stl.h>

#include "buffers.hpp"
#include "register.hpp"

namespace descend::bindings {

namespace {

template <class List, class Name>
py::tuple names_of(const List& items, Name&& name) {
  py::list out;
  for (const auto& item : items) out.append(py::str(name(item)));
  return py::tuple(out);
}

// {rule: {"lr": default learning rate, hyper-parameter: default, ...}}.
py::dict optimizer_defaults() {
  py::dict out;
  for (const UpdateRule& rule : all_optimizers()) {
    py::dict d;
    d["lr"] = default_learning_rate(rule);
    for (const auto& [name, value] : optimizer_params(rule)) d[py::str(name)] = value;
    out[optimizer_name(rule)] = d;
  }
  return out;
}

}  // namespace

void register_names(py::module_& m) {
  m.attr("LOSSES") = names_of(all_losses, loss_name);
  m.attr("METHODS") = names_of(all_methods, method_name);
  m.attr("OPTIMIZERS") = names_of(all_optimizers(), optimizer_name);
  m.attr("SCHEDULES") = names_of(all_schedules, schedule_name);
  m.attr("ON_DIVERGENCE") = names_of(all_on_divergence, on_divergence_name);
  m.def("schedule_defaults", &schedule_defaults, "{parameter: default} of descend::Schedule's fields.");
  m.def("optimizer_defaults", &optimizer_defaults,
        "{rule: {'lr': torch.optim's default rate, hyper-parameter: default}} from the core's structs.");
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UnknownParameter& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
}

}  // namespace descend::bindings
