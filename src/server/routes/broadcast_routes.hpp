#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "config/config.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"

namespace realtime {

// The chat backend's HTTP API of Socket.IO servers it was written for (nchat's
// api-event-broadcaster): POST /api/broadcast {eventType, rooms, payload, eventId} and
// POST /api/broadcast/batch {events:[{eventType, roomNames, payload}]}, server key only
// (X-API-Key). Each is an ordinary publish: every dialect's subscribers of the rooms get it (v1 as
// an `event` frame with `event` = eventType), and a connection in several of the rooms gets it
// once. Sans-io.
class BroadcastRoutes {
 public:
  // Counts this node's connections subscribed to any of `rooms`; `done` once, on any thread.
  using CountRecipients = std::function<void(std::shared_ptr<const std::vector<std::string>> rooms,
                                             std::function<void(std::size_t)> done)>;

  BroadcastRoutes(const Config& config, Broker& broker, Metrics& metrics)
      : config_(config), broker_(broker), metrics_(metrics) {}
  void set_count_recipients(CountRecipients count) { count_ = std::move(count); }

  static bool handles(std::string_view path);
  void handle(const HttpRequest& request, std::string_view path, const Respond& respond);

 private:
  const Config& config_;
  Broker& broker_;
  Metrics& metrics_;
  CountRecipients count_;
};

// One broadcast as one event per room, each knowing the rooms before it (so that a connection
// in several rooms receives it once). `rooms` must be distinct.
std::vector<PublishedEvent> broadcast_events(const std::vector<std::string>& rooms,
                                             const std::string& event, const std::string& data);

}  // namespace realtime
