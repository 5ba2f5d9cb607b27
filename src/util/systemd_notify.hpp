#pragma once

#include <string>

namespace realtime {

// sd_notify(3) for Type=notify units: systemd's `start` returns at READY=1 and shows STATUS=.
// Both do nothing unless systemd (or anything else) set NOTIFY_SOCKET.
void notify_ready(const std::string& status);
void notify_stopping(const std::string& status);

}  // namespace realtime
