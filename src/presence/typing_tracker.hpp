#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/typing_state.hpp"

namespace realtime {

// TypingState for the whole node: locked, and driven by a timer that turns silences into
// automatic stops. Every change goes to the sink (which publishes it), outside the lock. Must be
// destroyed while its executor's io_context still exists.
class TypingTracker {
 public:
  using ChangeSink = std::function<void(std::vector<TypingChange>)>;

  TypingTracker(boost::asio::any_io_executor executor, std::chrono::seconds timeout,
                ChangeSink sink);

  void start(std::string_view connection_id, std::string_view user_id, std::string_view topic,
             std::string_view thread_id);
  void stop(std::string_view connection_id, std::string_view user_id, std::string_view topic);
  void disconnect(std::string_view connection_id);
  std::vector<std::string> typing_in(std::string_view topic) const;

 private:
  void arm_locked();
  void on_timer();

  mutable std::mutex mutex_;
  TypingState state_;
  ChangeSink sink_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
};

}  // namespace realtime
