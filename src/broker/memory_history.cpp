#include "broker/memory_history.hpp"

#include <algorithm>

#include "broker/history.hpp"

namespace realtime {

MemoryHistory::Stream& MemoryHistory::stream_of(std::string_view topic, Clock::time_point now) {
  auto it = streams_.find(topic);
  if (it == streams_.end()) {
    it = streams_.emplace(std::string(topic), Stream{}).first;
    it->second.epoch = new_epoch();
    it->second.last_write = now;
  }
  return it->second;
}

std::uint64_t MemoryHistory::next_offset(std::string_view topic, Clock::time_point now) {
  return stream_of(topic, now).offset + 1;
}

void MemoryHistory::append(const TopicFrame& frame, const HistoryLimits& limits,
                           Clock::time_point now) {
  Stream& s = stream_of(frame.topic, now);
  s.offset = frame.offset;
  s.limits = limits;
  s.last_write = now;
  Stored e{frame.frame, frame.event, frame.data, frame.ts, frame.offset, now};
  s.bytes += cost(e);
  bytes_ += cost(e);
  s.events.push_back(std::move(e));
  trim(s, now);
  expire(now);
}

void MemoryHistory::trim(Stream& s, Clock::time_point now) {
  while (!s.events.empty() && (s.events.size() > s.limits.size || s.bytes > s.limits.max_bytes ||
                               now - s.events.front().at > s.limits.ttl)) {
    s.bytes -= cost(s.events.front());
    bytes_ -= cost(s.events.front());
    s.events.pop_front();
  }
  if (s.events.empty()) s.events.shrink_to_fit();
}

void MemoryHistory::expire(Clock::time_point now) {
  if (now - expired_at_ < std::chrono::seconds(1)) return;
  expired_at_ = now;
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& s = it->second;
    trim(s, now);
    if (now - s.last_write > std::max<Clock::duration>(s.limits.ttl, history_meta_ttl)) {
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

HistoryResult MemoryHistory::read(std::string_view topic, const HistoryLimits& limits,
                                  HistoryRequest request, Clock::time_point now) {
  Stream& s = stream_of(topic, now);
  if (s.offset == 0) s.limits = limits;  // a stream nothing was published to yet
  trim(s, now);
  HistoryResult out;
  out.ok = true;
  out.epoch = s.epoch;
  out.offset = s.offset;
  out.first_kept = s.events.empty() ? s.offset + 1 : s.events.front().offset;
  if (request.since >= s.offset || request.limit == 0) return out;
  const std::uint64_t from = std::max(request.since + 1, out.first_kept);
  const std::size_t count = std::min<std::uint64_t>(request.limit, s.offset - from + 1);
  out.events->reserve(count);
  const std::size_t begin = from - out.first_kept;
  std::string topic_name(topic);
  for (std::size_t i = begin; i < begin + count; ++i) {
    const Stored& e = s.events[i];
    TopicFrame f;
    f.topic = topic_name;
    f.frame = e.frame;
    f.event = e.event;
    f.data = e.data;
    f.ts = e.ts;
    f.offset = e.offset;
    out.events->push_back(std::move(f));
  }
  expire(now);
  return out;
}

}  // namespace realtime
