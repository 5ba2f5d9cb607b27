#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/broker.hpp"
#include "broker/history_types.hpp"
#include "core/topic_registry.hpp"

namespace realtime {

// The embedded engine's history: per topic a ring of the encoded frames (shared with the
// delivery, no copy), bounded in count, bytes and age, with its offset counter and epoch. Not
// thread-safe: the MemoryBroker holds its lock around offset assignment and delivery, so offset
// order is delivery order.
class MemoryHistory {
 public:
  using Clock = std::chrono::steady_clock;

  // The offset the next event of `topic` gets; starts the topic's stream (a new epoch) when it has
  // none. Call append() with the frame carrying it before the next call for the same topic.
  std::uint64_t next_offset(std::string_view topic, Clock::time_point now);
  void append(const TopicFrame& frame, const HistoryLimits& limits, Clock::time_point now);
  HistoryResult read(std::string_view topic, const HistoryLimits& limits, HistoryRequest request,
                     Clock::time_point now);

  // Drops aged events and the streams quiet past their epoch's lifetime; at most once a second.
  void expire(Clock::time_point now);

  std::size_t topic_count() const { return streams_.size(); }
  std::size_t stored_bytes() const { return bytes_; }

 private:
  struct Stored {
    FramePtr frame;
    std::string_view event, data;  // into frame
    std::int64_t ts = 0;
    std::uint64_t offset = 0;
    Clock::time_point at;
  };
  struct Stream {
    std::string epoch;
    std::uint64_t offset = 0;  // the last assigned
    std::deque<Stored> events;
    std::size_t bytes = 0;
    HistoryLimits limits;
    Clock::time_point last_write;
  };

  Stream& stream_of(std::string_view topic, Clock::time_point now);
  void trim(Stream& s, Clock::time_point now);
  static std::size_t cost(const Stored& e) { return sizeof(Stored) + e.frame->size(); }

  std::unordered_map<std::string, Stream, StringHash, std::equal_to<>> streams_;
  std::size_t bytes_ = 0;
  Clock::time_point expired_at_;
};

}  // namespace realtime
