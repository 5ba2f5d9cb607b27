#pragma once

#include "config/config.hpp"

namespace realtime {

// Sets up the default spdlog logger on stderr: level and text/json format from the config.
void init_logging(const Config& config);

}  // namespace realtime
