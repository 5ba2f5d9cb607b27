#include "presence/typing_tracker.hpp"

#include <boost/asio/post.hpp>

namespace net = boost::asio;

namespace realtime {
namespace {
// Repeated starts closer than this only refresh the timeout.
constexpr auto coalesce_window = std::chrono::seconds(1);
}  // namespace

TypingTracker::TypingTracker(net::any_io_executor executor, std::chrono::seconds timeout,
                             ChangeSink sink)
    : state_(timeout, coalesce_window), sink_(std::move(sink)), timer_(std::move(executor)) {}

void TypingTracker::start(std::string_view connection_id, std::string_view user_id,
                          std::string_view topic, std::string_view thread_id) {
  std::optional<TypingChange> change;
  {
    std::lock_guard lock(mutex_);
    change = state_.start(connection_id, user_id, topic, thread_id, TypingState::Clock::now());
    arm_locked();
  }
  if (change) sink_({std::move(*change)});
}

void TypingTracker::stop(std::string_view connection_id, std::string_view user_id,
                         std::string_view topic) {
  std::optional<TypingChange> change;
  {
    std::lock_guard lock(mutex_);
    change = state_.stop(connection_id, user_id, topic);
  }
  if (change) sink_({std::move(*change)});
}

void TypingTracker::disconnect(std::string_view connection_id) {
  std::vector<TypingChange> changes;
  {
    std::lock_guard lock(mutex_);
    if (state_.size() == 0) return;  // the common case: nobody types, no scan
    changes = state_.disconnect(connection_id);
  }
  if (!changes.empty()) sink_(std::move(changes));
}

std::vector<std::string> TypingTracker::typing_in(std::string_view topic) const {
  std::lock_guard lock(mutex_);
  return state_.typing_in(topic);
}

void TypingTracker::arm_locked() {
  // One timer for the node, armed while anyone types; a quarter second of resolution keeps the
  // automatic stop within the timeout + 250 ms without a timer per typer.
  if (armed_) return;
  armed_ = true;
  net::post(timer_.get_executor(), [this] {
    timer_.expires_after(std::chrono::milliseconds(250));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) on_timer();
    });
  });
}

void TypingTracker::on_timer() {
  std::vector<TypingChange> changes;
  {
    std::lock_guard lock(mutex_);
    armed_ = false;
    changes = state_.expire(TypingState::Clock::now());
    if (state_.size() > 0) arm_locked();
  }
  if (!changes.empty()) sink_(std::move(changes));
}

}  // namespace realtime
