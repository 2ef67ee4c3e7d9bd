// descend: gradient descent for linear models over caller-owned buffers.
// Umbrella header: include this one.
#pragma once

#include "config.hpp"
#include "dataset.hpp"
#include "errors.hpp"
#include "gather.hpp"
#include "gradient.hpp"
#include "losses.hpp"
#include "names.hpp"
#include "optimizers.hpp"
#include "params.hpp"
#include "partition.hpp"
#include "probe.hpp"
#include "random.hpp"
#include "rows.hpp"
#include "schedules.hpp"
#include "solver.hpp"
#include "step_size.hpp"
#include "stopping.hpp"
#include "validation.hpp"
#include "view.hpp"
