#include "util/systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstring>

namespace realtime {
namespace {

void notify(const std::string& message) {
  // < 0: the socket is set but unusable. Worth a line, never worth stopping for.
  if (const int r = sd_notify(0, message.c_str()); r < 0) {
    spdlog::warn("sd_notify: {}", std::strerror(-r));
  }
}

}  // namespace

void notify_ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void notify_stopping(const std::string& status) { notify("STOPPING=1\nSTATUS=" + status); }

}  // namespace realtime
