#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "auth/authorizer.hpp"
#include "broker/history_types.hpp"
#include "core/rate_limiter.hpp"
#include "core/topic_registry.hpp"
#include "net/shard.hpp"
#include "protocol/client_message.hpp"
#include "protocol/frame.hpp"
#include "protocol/topic.hpp"
#include "server/http_api.hpp"

namespace realtime {

// One connected client, whatever its transport and dialect: who it is, what it subscribes to,
// the rules and checks, presence, typing, refresh and expiry. It lives on one shard and is
// touched only on that shard's thread. A transport (WsSession; a Socket.IO transport later)
// derives from it: the transport moves bytes, the dialect encodes, this decides.
class ClientSession {
 public:
  using Clock = std::chrono::steady_clock;

  ClientSession(Shard& shard, UpgradeGrant grant);
  virtual ~ClientSession() = default;
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  const std::string& connection_id() const { return connection_id_; }
  // This client's places in the shard's TopicRegistry (kept here, not in a map there).
  std::vector<TopicSlot<ClientSession>>& topic_slots() { return topic_slots_; }
  // The shard's intrusive lists: its tracked sessions, and each user's sessions.
  struct ShardLinks {
    ClientSession* prev = nullptr;
    ClientSession* next = nullptr;
    ClientSession* next_of_user = nullptr;
  };
  ShardLinks& shard_links() { return shard_links_; }
  const std::string& user_id() const { return subject_.user_id; }
  // Receives its user's own topic without subscribing it (broker/mailbox.hpp).
  bool mailbox() const { return mailbox_; }
  // Unix ms after which the connection is closed with 4001 (0 = never).
  std::int64_t expires_at_ms() const { return subject_.expires_at * 1000; }

  // Fan-out: queues the event in this client's dialect. Never re-enters the registry.
  virtual void deliver(const TopicFrame& item) = 0;
  // The shard's fan-out: deliver(), unless the item's topic is at the seam of a subscription
  // that is reading its history (held until the history went out, or already in it).
  void offer(const TopicFrame& item, const std::shared_ptr<const FrameBatch>& batch) {
    if (tracking_ && !tracking_->seams.empty() && item.offset != 0 && at_seam(item, batch)) return;
    deliver(item);
  }

  // Commands from the backend (the server API), on this shard's thread. Each returns whether
  // the connection was affected.
  bool server_subscribe(const std::string& topic);
  // The engine gave mailboxes up (Broker::delivers_mailboxes() turned false): a mailbox session
  // subscribes its user's own topic instead.
  void subscribe_instead_of_mailbox();
  bool server_unsubscribe(const std::string& topic, std::string_view reason);
  // A live subscription's check is due again; its queue entry is gone (the shard's recheck queue).
  void recheck_due(const std::string& topic);

  // The shard's heartbeat sweep (every quarter heartbeat, at most 5 s): closes a connection
  // silent for 2 heartbeats (4009) or past its expiry (4001).
  virtual void sweep(Clock::time_point now, std::int64_t now_ms);

  // Transport hooks.
  virtual bool closing() const = 0;
  virtual void close(unsigned short code, std::string_view reason) = 0;
  // When the peer last sent anything (a frame, a ping).
  virtual Clock::time_point last_activity() const = 0;

 protected:
  // The transport calls these.
  // Joins the shard's user index, sends the welcome, subscribes the topics asked for at connect
  // (and those of grant().topics). The identity may be set until then.
  void start();
  void set_subject(Subject subject) { subject_ = std::move(subject); }
  void add_initial_topic(std::string topic) { handshake_->topics.push_back(std::move(topic)); }
  // A command decoded by the dialect.
  void handle(ClientMessage msg);
  // Frames per second: false = drop this one (REALTIME_CLIENT_RATE_LIMIT).
  bool take_frame_budget(Clock::time_point now);
  // Leaves every topic, presence and the shard; once, when the connection ends.
  void end();
  // After start(): from now on the user's own topic reaches this connection (mailbox.hpp).
  void open_mailbox();
  bool started() const { return started_; }
  // Counts the error, then reply_error().
  void send_error(std::string_view id, ErrorCode code, std::string_view message);
  Shard& shard() { return shard_; }
  // What the upgrade decided, until start() (its subject is subject()).
  const UpgradeGrant& grant() const { return *handshake_; }
  const Subject& subject() const { return subject_; }

  // The dialect: how this client is told what happened. `id` is the request's id (empty when the
  // server acts on its own); `reason` of unsubscribed is empty when the client asked, else
  // forbidden or removed; `server` marks a subscription the backend made.
  virtual void send_welcome() = 0;
  // `position`: where a history topic's stream stood (null for a topic without history).
  virtual void reply_subscribed(std::string_view id, std::string_view topic, bool server,
                                const SubscribedPosition* position = nullptr) = 0;
  virtual void reply_unsubscribed(std::string_view id, std::string_view topic,
                                  std::string_view reason) = 0;
  virtual void reply_ack(std::string_view id) = 0;
  virtual void reply_pong(std::string_view id) = 0;
  virtual void reply_refreshed(std::string_view id, std::int64_t expires_at_ms) = 0;
  virtual void reply_error(std::string_view id, ErrorCode code, std::string_view message) = 0;
  // Whether being subscribed to `topic` makes the connection present in it (reserved topics
  // never do). A dialect may keep a subscription of its own out of presence.
  virtual bool present_in(std::string_view topic) const { return !is_reserved_topic(topic); }
  // Keeps the connection object alive across an asynchronous step.
  virtual std::shared_ptr<ClientSession> self() = 0;
  virtual boost::asio::any_io_executor executor() = 0;

 private:
  using Since = std::optional<StreamPosition>;
  // True when the subscription started (allowed at once) or was handed to a check.
  bool subscribe(const std::string& topic, std::string_view id, const Since& since = {});
  void on_authorized(const std::string& topic, const std::string& id, const Since& since,
                     Authorization a);
  void join(const std::string& topic, const std::string& id, bool server,
            std::chrono::seconds recheck, const Since& since = {});
  // The broker delivers `topic` to this node now: reply and become present (a history topic
  // reads its stream first).
  void on_live(const std::string& topic, const std::string& id, bool server, const Since& since);
  // The history read of a subscription at its seam: replay what it missed, reply, then release
  // the live events held meanwhile.
  void on_history(const std::string& topic, const std::string& id, bool server,
                  std::uint64_t generation, const Since& since, HistoryResult result);
  void reply_live(const std::string& topic, const std::string& id, bool server,
                  const SubscribedPosition* position);
  bool at_seam(const TopicFrame& item, const std::shared_ptr<const FrameBatch>& batch);
  void drop_seam(std::string_view topic);
  // Leaves `topic` (registry, broker, presence); false when not subscribed.
  bool leave(const std::string& topic);
  void on_unsubscribe(const ClientMessage& msg);
  void on_publish(ClientMessage msg);
  void on_typing(ClientMessage msg);
  void apply_typing(const ClientMessage& msg);
  void on_refresh(const ClientMessage& msg);
  // Asks the Authorizer: the answer now when it is known at once, else nullopt and `later` runs
  // with it on this shard (if the connection is still open then).
  std::optional<Authorization> authorize(TopicAction action, const std::string& topic,
                                         std::function<void(Authorization)> later);
  // The error of a refusal: forbidden, or unavailable when the check's backend could not say.
  void refuse(std::string_view id, const Authorization& a, std::string_view what,
              const std::string& topic);
  void schedule_recheck(const std::string& topic, std::chrono::seconds after);
  // Forgets a checked subscription and its queue entry.
  void stop_checking(const std::string& topic);

  Shard& shard_;
  std::vector<TopicSlot<ClientSession>> topic_slots_;
  ShardLinks shard_links_;
  Subject subject_;
  std::unique_ptr<UpgradeGrant> handshake_;  // the rest of the upgrade's grant, until start()
  std::string connection_id_;
  Clock::time_point connected_at_ = Clock::now();
  RateLimiter rate_limiter_;  // after connected_at_: initialised from it
  // Subscriptions kept by a check, with their entry in the shard's recheck queue (none while the
  // check is being asked again). The generation tells an answer for a subscription that left
  // and came back meanwhile. Server-side subscriptions are not here: checks do not apply.
  struct Checked {
    std::uint64_t generation = 0;
    std::optional<Shard::RecheckQueue::iterator> entry;
  };
  // Subscriptions of history topics between join and the first live event past their history
  // read: while `holding`, live events wait in `held`; after, those up to `floor` were in the
  // history already and are dropped.
  struct Seam {
    std::string topic;
    std::uint64_t generation = 0;
    bool holding = true;
    std::uint64_t floor = 0;
    std::size_t held_bytes = 0;
    std::vector<std::pair<std::shared_ptr<const FrameBatch>, const TopicFrame*>> held;
  };
  // What only some connections need: checks and history seams. Allocated by the first and kept
  // (its generations must not restart); null for nearly every connection, 8 bytes in each.
  struct Tracking {
    std::size_t pending_checks = 0;  // subscriptions waiting for a check
    std::uint64_t next_generation = 0;
    std::unordered_map<std::string, Checked> checked;
    std::vector<Seam> seams;
  };
  Tracking& tracking();
  std::unique_ptr<Tracking> tracking_;
  bool started_ = false;
  bool ended_ = false;
  bool mailbox_ = false;
};

}  // namespace realtime
