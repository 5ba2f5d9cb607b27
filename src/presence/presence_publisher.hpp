#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/presence_coalescer.hpp"

namespace realtime {

class AccessRules;
class Broker;
class Metrics;

// This node's presence events to topics: the engine's changes through a PresenceCoalescer, run
// by one timer on `executor`, published through the broker. (With Redis each node coalesces the
// changes its own scripts reported; the events reach every node like any publish.) Thread-safe.
// Must be destroyed while its executor's io_context still exists.
class PresencePublisher {
 public:
  using RulesSource = std::function<std::shared_ptr<const AccessRules>()>;

  PresencePublisher(boost::asio::any_io_executor executor, std::chrono::milliseconds window,
                    Broker& broker, Metrics& metrics, RulesSource rules);

  // The presence store's changes (from any thread, in the order they happened).
  void topic_changes(const std::vector<PresenceChange>& changes);
  // Shutdown: publishes every open window's changes now and waits at most `timeout` for the
  // broker to take them; changes after this go out at once.
  void flush(std::chrono::milliseconds timeout);

 private:
  // Publishes `updates` and refreshes the metrics; under the lock, so a topic's updates keep
  // their order.
  void publish_locked(const std::vector<TopicPresenceUpdate>& updates,
                      std::function<void()> done = {});
  void arm_locked();
  void on_timer();

  Broker& broker_;
  Metrics& metrics_;
  RulesSource rules_;
  std::mutex mutex_;
  PresenceCoalescer coalescer_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  bool closing_ = false;  // flush() ran
};

}  // namespace realtime
