#pragma once

#include <vector>

#include "broker/broker.hpp"
#include "broker/local_topics.hpp"

namespace realtime {

// The embedded engine: one node, fan-out to this process's shards only.
class MemoryBroker final : public Broker {
 public:
  explicit MemoryBroker(std::vector<DeliveryTarget*> targets);

  void publish(std::vector<PublishedEvent> events, PublishCallback done) override;
  void topic_added(std::string_view topic, std::size_t shard) override {
    topics_.add(topic, shard);
  }
  void topic_removed(std::string_view topic, std::size_t shard) override {
    topics_.remove(topic, shard);
  }
  bool healthy() const override { return true; }
  std::string_view engine() const override { return "memory"; }
  std::size_t topic_count() const override { return topics_.size(); }

 private:
  std::vector<DeliveryTarget*> targets_;
  LocalTopics topics_;
};

}  // namespace realtime
