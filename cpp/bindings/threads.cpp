#include <descend/config.hpp>

#include "register.hpp"

namespace descend::bindings {

void register_threads(pybind11::module_& m) {
  m.def("set_num_threads", &descend::set_num_threads, pybind11::arg("n"));
  m.def("get_num_threads", &descend::get_num_threads);
}

}  // namespace descend::bindings
