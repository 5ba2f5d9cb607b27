#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "broker/broker.hpp"
#include "broker/local_topics.hpp"
#include "broker/memory_history.hpp"

namespace realtime {

class HistoryPolicy;

// The embedded engine: one node, fan-out to this process's shards only.
class MemoryBroker final : public Broker {
 public:
  // `history` null: no topic keeps history.
  explicit MemoryBroker(std::vector<DeliveryTarget*> targets,
                        std::shared_ptr<const HistoryPolicy> history = nullptr);

  void publish(std::vector<PublishedEvent> events, PublishCallback done) override;
  void topic_added(std::string_view topic, std::size_t shard) override {
    topics_.add(topic, shard);
  }
  void topic_removed(std::string_view topic, std::size_t shard) override {
    topics_.remove(topic, shard);
  }
  bool delivers_mailboxes() const override { return true; }
  void mailboxes_changed(std::size_t shard, bool any) override {
    topics_.set_mailboxes(shard, any);
  }
  bool healthy() const override { return true; }
  std::string_view engine() const override { return "memory"; }
  std::size_t topic_count() const override { return topics_.size(); }
  void read_history(std::string_view topic, const HistoryLimits& limits, HistoryRequest request,
                    std::function<void(HistoryResult)> done) override;

 private:
  void publish_with_history(std::vector<PublishedEvent>& events);
  void deliver(std::shared_ptr<const FrameBatch> batch, const ShardSet& shards);

  std::vector<DeliveryTarget*> targets_;
  LocalTopics topics_;
  std::shared_ptr<const HistoryPolicy> policy_;
  // Held from taking an offset until the batch is handed to the shards: offset order is delivery
  // order on every shard.
  std::mutex history_mutex_;
  MemoryHistory history_;
};

}  // namespace realtime
