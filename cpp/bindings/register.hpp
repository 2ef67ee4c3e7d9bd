#pragma once

#include <pybind11/pybind11.h>

namespace descend::bindings {
void register_cpu(pybind11::module_& m);
void register_files(pybind11::module_& m);
void register_kernels(pybind11::module_& m);
void register_names(pybind11::module_& m);
void register_optim(pybind11::module_& m);
void register_solver(pybind11::module_& m);
void register_threads(pybind11::module_& m);
}  // namespace descend::bindings
