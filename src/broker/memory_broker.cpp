#include "broker/memory_broker.hpp"

#include "broker/history.hpp"
#include "util/clock.hpp"

namespace realtime {

MemoryBroker::MemoryBroker(std::vector<DeliveryTarget*> targets,
                           std::shared_ptr<const HistoryPolicy> history)
    : targets_(std::move(targets)), policy_(std::move(history)) {}

void MemoryBroker::publish(std::vector<PublishedEvent> events, PublishCallback done) {
  if (policy_ && policy_->any()) {
    publish_with_history(events);
  } else {
    // Nobody on this node listens: no encoding, no wake-up of any shard. Lifecycle events of
    // every connect take this exit unless someone watches realtime.events.
    const ShardSet shards = topics_.keep_present(
        events, [](const PublishedEvent& e) -> std::string_view { return e.topic; });
    if (!events.empty()) deliver(encode_batch(events, unix_millis()), shards);
  }
  if (done) done(PublishStatus::ok);
}

void MemoryBroker::publish_with_history(std::vector<PublishedEvent>& events) {
  auto batch = std::make_shared<FrameBatch>();
  batch->reserve(events.size());
  std::lock_guard lock(history_mutex_);
  const std::int64_t ts = unix_millis();
  const auto now = MemoryHistory::Clock::now();
  for (const auto& e : events) {
    std::optional<HistoryLimits> limits;
    if (is_storable(e)) limits = policy_->limits_for(e.topic);
    if (!limits) {
      if (topics_.wanted(e.topic)) batch->push_back(make_topic_frame(e, ts));
      continue;
    }
    TopicFrame frame = make_topic_frame(e, ts, history_.next_offset(e.topic, now));
    history_.append(frame, *limits, now);
    batch->push_back(std::move(frame));
  }
  // Stored whether or not anyone here listens; delivered only where someone does.
  const ShardSet shards =
      topics_.keep_present(*batch, [](const TopicFrame& f) -> std::string_view { return f.topic; });
  if (!batch->empty()) deliver(std::move(batch), shards);
}

void MemoryBroker::deliver(std::shared_ptr<const FrameBatch> batch, const ShardSet& shards) {
  // The shards with subscribers of any of its topics share the batch; each skips the events of
  // topics it has no subscriber of with one hash lookup.
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (shards.test(i)) targets_[i]->deliver(batch);
  }
}

void MemoryBroker::read_history(std::string_view topic, const HistoryLimits& limits,
                                HistoryRequest request, std::function<void(HistoryResult)> done) {
  HistoryResult result;
  {
    std::lock_guard lock(history_mutex_);
    result = history_.read(topic, limits, request, MemoryHistory::Clock::now());
  }
  done(std::move(result));
}

}  // namespace realtime
