#pragma once

#include <functional>
#include <string_view>

#include "broker/user_command.hpp"
#include "config/config.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"

namespace realtime {

// The server API that takes access away (or grants it) for every connection of a user, on every
// node: POST /realtime/subscribe, /realtime/unsubscribe, /realtime/disconnect. Server key only.
// Sans-io: applying a command is the caller's (`Apply`: this node's shards, then the broker).
class UserCommandRoutes {
 public:
  // Applies `command` on this node and sends it to the others; `done(local)` gets the number of
  // this node's connections affected, once, on any thread.
  using Apply = std::function<void(UserCommand command, std::function<void(std::size_t)> done)>;

  UserCommandRoutes(const Config& config, Metrics& metrics) : config_(config), metrics_(metrics) {}
  void set_apply(Apply apply) { apply_ = std::move(apply); }

  static bool handles(std::string_view path);
  void handle(const HttpRequest& request, std::string_view path, const Respond& respond);

 private:
  const Config& config_;
  Metrics& metrics_;
  Apply apply_;
};

}  // namespace realtime
