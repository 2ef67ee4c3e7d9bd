// The compiled core: a table of contents; each concept registers itself.
// CMake builds this module once per instruction set (descend._core_baseline,
// _core_avx2, _core_avx512: DESCEND_MODULE_NAME), and descend/_core.py
// imports the fastest one the CPU runs.
#include <pybind11/pybind11.h>

#include "register.hpp"

#ifndef DESCEND_MODULE_NAME
#define DESCEND_MODULE_NAME _core_baseline
#endif
// One more expansion so PYBIND11_MODULE sees the name, not the macro.
#define DESCEND_PYBIND11_MODULE(name, variable) PYBIND11_MODULE(name, variable)

DESCEND_PYBIND11_MODULE(DESCEND_MODULE_NAME, m) {
  m.doc() = "descend's compiled core (private: use the descend package)";
  descend::bindings::register_cpu(m);
  descend::bindings::register_names(m);
  descend::bindings::register_kernels(m);
  descend::bindings::register_files(m);
  descend::bindings::register_optim(m);
  descend::bindings::register_solver(m);
  descend::bindings::register_threads(m);
}
