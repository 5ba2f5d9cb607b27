#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace realtime::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (searched in PATH) to completion with `env` added to this process's environment,
// in `cwd` when given. Kills it after `timeout`.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env = {},
                         const std::string& cwd = {},
                         std::chrono::milliseconds timeout = std::chrono::minutes(2));

}  // namespace realtime::testing
