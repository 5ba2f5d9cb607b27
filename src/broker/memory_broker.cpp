#include "broker/memory_broker.hpp"

#include "util/clock.hpp"

namespace realtime {

MemoryBroker::MemoryBroker(std::vector<DeliveryTarget*> targets) : targets_(std::move(targets)) {}

void MemoryBroker::publish(std::vector<PublishedEvent> events, PublishCallback done) {
  // Nobody on this node listens: no encoding, no wake-up of any shard. Lifecycle events of
  // every connect take this exit unless someone watches realtime.events.
  const ShardSet shards = topics_.keep_present(
      events, [](const PublishedEvent& e) -> std::string_view { return e.topic; });
  if (!events.empty()) {
    auto batch = encode_batch(events, unix_millis());
    // The shards with subscribers of any of its topics share the batch; each skips the events
    // of topics it has no subscriber of with one hash lookup.
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      if (shards.test(i)) targets_[i]->deliver(batch);
    }
  }
  if (done) done(PublishStatus::ok);
}

}  // namespace realtime
