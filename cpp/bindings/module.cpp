// descend._core: a table of contents; each concept registers itself.
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "descend's compiled core (private: use the descend package)";
  descend::bindings::register_kernels(m);
  descend::bindings::register_optim(m);
  descend::bindings::register_solver(m);
  descend::bindings::register_threads(m);
}
