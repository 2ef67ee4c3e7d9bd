// descend::FitOptions from Python keyword arguments, and back: one table
// of the option names descend.fit passes, so a field can never be matched
// to the wrong argument by position.
#pragma once

#include "buffers.hpp"

namespace descend::bindings {

/// The options named by `kwargs` (defaults for the others); a name the
/// table does not hold is a TypeError, as for any Python call.
FitOptions fit_options_from(const py::kwargs& kwargs);

/// {name: default} for every option of the table, from FitOptions{}.
py::dict fit_defaults();

}  // namespace descend::bindings
