#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"

namespace realtime {

// Wires every part from the Config: the only place that knows the concrete types.
class Server {
 public:
  explicit Server(Config config, std::string static_dir);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (throws when it can't) and starts the shards.
  void start();
  std::uint16_t port() const;
  // Blocks until SIGTERM/SIGINT, then shuts down gracefully: stop accepting, close every
  // WebSocket with 1001, give them up to `grace` to finish. Returns the process exit code.
  int run_until_signal(std::chrono::milliseconds grace = std::chrono::milliseconds(4000));

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace realtime
