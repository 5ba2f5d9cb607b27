#include "broker/broker.hpp"

#include "ws/frame_codec.hpp"

namespace realtime {

TopicFrame make_topic_frame(const PublishedEvent& e, std::int64_t ts_ms, std::uint64_t offset) {
  EventFrame encoded = encode_event_frame(e.topic, e.event, e.data, ts_ms, offset);
  TopicFrame out;
  out.topic = e.topic;
  out.frame = std::move(encoded.wire);
  out.exclude_connection = e.exclude_connection;
  out.event = encoded.event;
  out.data = encoded.data;
  out.ts = ts_ms;
  out.offset = offset;
  out.earlier_rooms = e.earlier_rooms;
  return out;
}

std::shared_ptr<const FrameBatch> encode_batch(const std::vector<PublishedEvent>& events,
                                               std::int64_t ts_ms) {
  auto batch = std::make_shared<FrameBatch>();
  batch->reserve(events.size());
  for (const auto& e : events) batch->push_back(make_topic_frame(e, ts_ms));
  return batch;
}

}  // namespace realtime
