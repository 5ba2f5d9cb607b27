#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/history_types.hpp"
#include "broker/mailbox.hpp"
#include "broker/user_command.hpp"
#include "protocol/frame.hpp"
#include "protocol/publish_request.hpp"

namespace realtime {

// The same event for one more dialect (Socket.IO), encoded by the first subscriber that needs it
// and shared by the rest: once per publish per node, and not at all where nobody speaks it.
// Shards race to fill it: one copy wins, the others are dropped.
class LazyFrame {
 public:
  LazyFrame() = default;
  LazyFrame(LazyFrame&& other) noexcept : frame_(other.frame_.exchange(nullptr)) {}
  // Only before the frame is shared (a batch being built or filtered).
  LazyFrame& operator=(LazyFrame&& other) noexcept {
    if (this != &other) delete frame_.exchange(other.frame_.exchange(nullptr));
    return *this;
  }
  ~LazyFrame() { delete frame_.load(); }

  template <typename Make>
  const FramePtr& get(Make&& make) const {
    if (const FramePtr* f = frame_.load(std::memory_order_acquire)) return *f;
    auto* made = new FramePtr(make());
    const FramePtr* expected = nullptr;
    if (frame_.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) return *made;
    delete made;
    return *expected;
  }

 private:
  mutable std::atomic<const FramePtr*> frame_{nullptr};
};

// An encoded event on its way to a topic's local subscribers.
struct TopicFrame {
  std::string topic;
  FramePtr frame;                  // protocol v1: WebSocket header + JSON
  std::string exclude_connection;  // empty for nearly every frame
  // What another dialect re-encodes: views into `frame`, which lives as long as they do.
  std::string_view event;
  std::string_view data;
  std::int64_t ts = 0;
  // Its place in the topic's history (1, 2, ...); 0 when the topic keeps none.
  std::uint64_t offset = 0;
  std::shared_ptr<const std::vector<std::string>> earlier_rooms;  // see PublishedEvent
  Reach reach = Reach::all;  // the topic's subscribers, a user's mailboxes, or both
  LazyFrame socketio;        // the Socket.IO frame (WebSocket header + Engine.IO text)
  // The same two compressed with permessage-deflate, filled by the first subscriber that
  // negotiated it: compressed once per publish per node, nothing where nobody did. A frame too
  // small to gain goes plain: the slot then holds the plain frame.
  LazyFrame deflated;
  LazyFrame socketio_deflated;
};

// `event` as it reaches this node's subscribers, encoded for v1.
TopicFrame make_topic_frame(const PublishedEvent& event, std::int64_t ts_ms,
                            std::uint64_t offset = 0);
using FrameBatch = std::vector<TopicFrame>;

// A topic's stream as an engine read it: where it stands, and the events asked for.
struct HistoryResult {
  bool ok = false;  // false: the engine could not answer (Redis down) or keeps no history
  std::string epoch;
  std::uint64_t offset = 0;  // the topic's last event; 0 when it has had none
  // The oldest offset still kept (offset + 1 when none is): the events before it are gone.
  std::uint64_t first_kept = 1;
  // Oldest first, with their offsets, as v1 event frames.
  std::shared_ptr<FrameBatch> events = std::make_shared<FrameBatch>();
};

// Something that hands frames to local subscribers: a Shard. deliver() is called from any thread.
// A broker's targets are indexed by shard number.
class DeliveryTarget {
 public:
  virtual ~DeliveryTarget() = default;
  virtual void deliver(std::shared_ptr<const FrameBatch> batch) = 0;
  // The engine can no longer bring users' own topics to mailboxes: each mailbox session
  // subscribes its own topic instead.
  virtual void mailboxes_refused() {}
};

enum class PublishStatus { ok, unavailable };

// A service an engine depends on, as /health shows it.
struct DependencyHealth {
  std::string_view name;  // "redis"
  bool up = false;
  // Round trip of the engine's last probe that came back; nullopt while down or before the first.
  // (With several shards: the slowest.)
  std::optional<std::chrono::microseconds> latency;
  // Redis Cluster: each master this node uses, by host:port.
  struct Shard {
    std::string node;
    bool up = false;
    std::optional<std::chrono::microseconds> latency;
    std::size_t slots = 0;  // slots it serves
  };
  std::vector<Shard> shards;
};
using PublishCallback = std::function<void(PublishStatus)>;

// Fans published events out to every subscriber on every shard (and, for a clustered engine, on
// every node). Thread-safe. Events of one publish() call keep their order per topic, and
// successive calls from one thread keep theirs.
class Broker {
 public:
  virtual ~Broker() = default;

  // Accepts all events or none; `done` runs once, on any thread, when the outcome is known.
  virtual void publish(std::vector<PublishedEvent> events, PublishCallback done) = 0;

  // Shard number `shard` gained its first local subscriber of `topic` / lost its last one.
  virtual void topic_added(std::string_view topic, std::size_t shard) = 0;
  virtual void topic_removed(std::string_view topic, std::size_t shard) = 0;
  // Runs `ready` (on any thread) once events published from now on reach this node's
  // subscribers of `topic`: at once for the embedded engine, after Redis confirmed the
  // SUBSCRIBE for a clustered one.
  virtual void when_live(std::string_view topic, std::function<void()> ready) { ready(); }

  // Whether this engine brings a user's own topic to the user's mailboxes (mailbox.hpp): then a
  // connection opens one instead of subscribing `user:<id>`. Redis Cluster does not (a sharded
  // channel has no pattern to cover every user), and such a connection subscribes.
  virtual bool delivers_mailboxes() const { return false; }
  // Shard number `shard` opened its first mailbox (`any`) or closed its last one.
  virtual void mailboxes_changed(std::size_t shard, bool any) {}

  // Sends a user command to every other node (the caller applies it here itself); a single
  // node has none. Commands from other nodes arrive through the handler (on any thread).
  virtual void send_command(const UserCommand& command) {}
  virtual void set_command_handler(std::function<void(const UserCommand&)> handler) {}

  virtual bool healthy() const = 0;
  virtual std::string_view engine() const = 0;
  // The external service behind the engine; nullopt for the embedded one.
  virtual std::optional<DependencyHealth> dependency() const { return std::nullopt; }
  // Topics with at least one subscriber on this node.
  virtual std::size_t topic_count() const = 0;

  // Where `topic`'s stream stands and the events after `request.since` (docs/protocol.md,
  // "History and recovery"). `done` runs once, on any thread. An engine without history
  // answers not ok.
  virtual void read_history(std::string_view topic, const HistoryLimits& limits,
                            HistoryRequest request, std::function<void(HistoryResult)> done) {
    done(HistoryResult{});
  }
};

// Encodes each event into the frame every subscriber receives: once per publish per node.
std::shared_ptr<const FrameBatch> encode_batch(const std::vector<PublishedEvent>& events,
                                               std::int64_t ts_ms);

}  // namespace realtime
