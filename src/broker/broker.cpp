#include "broker/broker.hpp"

#include "ws/frame_codec.hpp"

namespace realtime {

std::shared_ptr<const FrameBatch> encode_batch(const std::vector<PublishedEvent>& events,
                                               std::int64_t ts_ms) {
  auto batch = std::make_shared<FrameBatch>();
  batch->reserve(events.size());
  for (const auto& e : events) {
    batch->push_back({e.topic,
                      std::make_shared<const std::string>(ws::encode_frame(
                          ws::Opcode::text, encode_event(e.topic, e.event, e.data, ts_ms))),
                      e.exclude_connection});
  }
  return batch;
}

}  // namespace realtime
