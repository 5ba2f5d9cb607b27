#include "broker/memory_broker.hpp"

#include "util/clock.hpp"

namespace realtime {

MemoryBroker::MemoryBroker(std::vector<DeliveryTarget*> targets) : targets_(std::move(targets)) {}

void MemoryBroker::publish(std::vector<PublishedEvent> events, PublishCallback done) {
  // Nobody on this node listens: no encoding, no wake-up of every shard. Lifecycle events of
  // every connect take this exit unless someone watches realtime.events.
  topics_.erase_absent(events, [](const PublishedEvent& e) -> std::string_view { return e.topic; });
  if (!events.empty()) {
    auto batch = encode_batch(events, unix_millis());
    // Every shard gets the same batch; a shard without subscribers of a topic skips it with one
    // hash lookup, cheaper than keeping a cross-shard topic map on the publish path.
    for (DeliveryTarget* t : targets_) t->deliver(batch);
  }
  if (done) done(PublishStatus::ok);
}

}  // namespace realtime
