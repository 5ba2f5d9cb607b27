#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/uio.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/broker.hpp"
#include "core/topic_registry.hpp"
#include "net/write_op_pool.hpp"
#include "server/metrics.hpp"
#include "ws/deflate_codec.hpp"

namespace realtime {

class ClientSession;
class WsStream;
struct ServerContext;

// One thread with its own event loop, the sessions it owns and their topic index. Everything
// but deliver(), close_all() and the thread control runs on the shard's own thread, so the
// publish path takes no lock.
class Shard final : public DeliveryTarget {
 public:
  Shard(std::size_t index, ServerContext& context);
  ~Shard() override;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  boost::asio::io_context& io() { return io_; }
  std::size_t index() const { return index_; }
  ServerContext& context() { return context_; }
  ShardCounters& counters() { return counters_; }

  void start();
  void stop();
  void join();

  // Any thread.
  void deliver(std::shared_ptr<const FrameBatch> batch) override;
  void mailboxes_refused() override;
  void close_all(unsigned short code);
  // Applies a user command to this shard's connections of that user; `done` gets how many were
  // affected, on this shard's thread.
  void apply(UserCommand command, std::function<void(std::size_t)> done);
  // How many of this shard's connections subscribe to any of `rooms` (each counted once).
  void count_subscribers(std::shared_ptr<const std::vector<std::string>> rooms,
                         std::function<void(std::size_t)> done);

  // The shard's own thread only.
  TopicRegistry<ClientSession>& registry() { return registry_; }
  // Sessions the heartbeat sweep and the shutdown see: from their transport's start to its end.
  // Both are idempotent.
  void track(ClientSession* session);
  void untrack(ClientSession* session);
  // The user -> sessions index of the server API's commands: from start() to end().
  void attach_user(ClientSession* session);
  void detach_user(ClientSession* session);
  // Sessions that receive their user's own topic without a subscription (broker/mailbox.hpp):
  // the broker hears of the shard's first and last.
  void open_mailbox();
  void close_mailbox();
  // Subscriptions kept by a check, by the time their check is due again: one entry per live
  // subscription (a session cancels its entries when it leaves), so the queue is bounded by
  // what is subscribed, however fast clients churn.
  using RecheckQueue =
      std::multimap<std::chrono::steady_clock::time_point, std::pair<ClientSession*, std::string>>;
  RecheckQueue::iterator schedule_recheck(std::chrono::steady_clock::time_point due,
                                          ClientSession* session, std::string topic);
  void cancel_recheck(RecheckQueue::iterator entry) { rechecks_.erase(entry); }
  std::size_t rechecks_queued() const { return rechecks_.size(); }
  // Every session of the shard reads into this one buffer, then keeps only partial frames.
  std::vector<char>& read_buffer() { return read_buffer_; }
  // A session with frames to send asks to be flushed once, at the end of the loop turn: every
  // handler ready now (deliveries of several batches, replies, pongs) runs first, and what they
  // queued leaves in one sendmsg per session (uWebSockets' cork, drained once per loop turn).
  // `keep` holds the stream's owner until then.
  void cork(std::shared_ptr<void> keep, WsStream* stream) {
    corked_.push_back({std::move(keep), stream});
  }
  // permessage-deflate: `plain` compressed once per publish per node, kept in `slot` for every
  // subscriber that negotiated it (the plain frame when compressing does not pay).
  const FramePtr& deflated(const LazyFrame& slot, const FramePtr& plain);
  // Inflates the compressed messages of this shard's connections, one at a time.
  ws::Inflater& inflater() { return inflater_; }
  // Scratch gather list for a session's sendmsg; sessions write synchronously, one at a time.
  std::vector<struct iovec>& iovecs() { return iovecs_; }
  WriteOpPool& write_op_pool() { return write_op_pool_; }

 private:
  // The thread's loop: run what is ready (bounded), then flush the corked sessions.
  void run_loop();
  void on_deliver(const std::shared_ptr<const FrameBatch>& batch);
  // Whether an event of `topic` reaches `session`: a subscription, or its mailbox.
  bool receives(ClientSession* session, std::string_view topic) const;
  bool reached_earlier(ClientSession* session, const std::vector<std::string>& rooms) const;
  // Each session of this shard that an event of `topic` reaches (as far as `reach` goes), once:
  // its subscribers and, for a user's own topic, that user's mailboxes.
  template <typename F>
  void for_each_recipient(std::string_view topic, Reach reach, F&& f) const;
  // A copy of the tracked sessions: closing or sweeping one may untrack it (or another).
  std::vector<ClientSession*> tracked_sessions() const;
  void flush_corked();
  void schedule_heartbeat_sweep();
  void on_heartbeat_sweep();
  void arm_recheck_timer();
  void on_recheck_timer();

  std::size_t index_;
  ServerContext& context_;
  ShardCounters& counters_;
  // Declared before io_ so they outlive it: destroying io_ destroys pending handlers, and with
  // them the last sessions, which still detach themselves from these.
  TopicRegistry<ClientSession> registry_;
  // Both indexes are intrusive (ClientSession::ShardLinks): an idle connection's bytes count.
  ClientSession* sessions_ = nullptr;  // head of the tracked sessions' list
  // user id -> the first of that user's connections on this shard (the server API's commands);
  // the key views that session's user id, and moves to the next one when it detaches.
  std::unordered_map<std::string_view, ClientSession*, StringHash, std::equal_to<>> users_;
  std::size_t mailboxes_ = 0;
  RecheckQueue rechecks_;
  std::vector<char> read_buffer_ = std::vector<char>(64 * 1024);
  std::vector<struct iovec> iovecs_;
  // One compressor and one inflater for every connection of the shard (no context takeover);
  // each allocates its zlib state on first use.
  ws::Deflater deflater_;
  ws::Inflater inflater_;
  WriteOpPool write_op_pool_;  // before io_: pending waits give their memory back to it
  boost::asio::io_context io_{1};
  // Owning, since a session may end before the flush; declared after io_ so that sessions
  // still held here at destruction go before the loop they live on.
  struct Corked {
    std::shared_ptr<void> keep;
    WsStream* stream;
  };
  std::vector<Corked> corked_;
  // Swapped with corked_ in flush_corked(): both keep their capacity, so a turn allocates nothing.
  std::vector<Corked> flushing_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer recheck_timer_;
  std::chrono::steady_clock::time_point recheck_armed_for_ =
      std::chrono::steady_clock::time_point::max();
  std::thread thread_;
};

}  // namespace realtime
