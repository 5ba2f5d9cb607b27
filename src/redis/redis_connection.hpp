#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_endpoint.hpp"
#include "redis/resp.hpp"
#include "util/backoff.hpp"

namespace realtime {

// One Redis connection on an Asio loop, kept up forever: connect (TCP, TLS or unix socket), log
// in, select the database, pipeline commands, and reconnect with capped, jittered backoff when it
// drops. Every method must be called on the loop's thread.
//
// Commands queued in one loop turn leave in one write. Replies are matched to handlers in order;
// in subscriber mode, pub/sub pushes (message, subscribe, unsubscribe and their sharded s*
// kinds) go to the push handler, and so does an error reply to a push command.
class RedisConnection {
 public:
  // The reply, or nullptr when the connection failed before it arrived.
  using ReplyHandler = std::function<void(const redisReply*)>;
  using PushHandler = std::function<void(const redisReply&)>;

  RedisConnection(boost::asio::io_context& io, RedisEndpoint endpoint, std::string name);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sentinel mode: `where` says where the master is now (nullopt: not known yet), asked before
  // every connect; the connection checks ROLE before it is ready, and on a replica (or a
  // READONLY reply later) it reconnects and calls `not_master`.
  void follow_master(std::function<std::optional<RedisAddress>()> where,
                     std::function<void(std::string_view why)> not_master);
  // Connects wherever `where` says, asked before every connect (Cluster's seed nodes in turn);
  // no ROLE check.
  void follow_address(std::function<std::optional<RedisAddress>()> where);
  // Sentinel mode: the master is now at `address`; leave any other. A subscriber connection
  // first reads what the old master already sent it (its PUBLISHes may have been answered):
  // it is down (on_down) from this call, delivers pushes until Redis answers a PING, or for at
  // most 1 s, then connects to the new master.
  void master_moved(const RedisAddress& address);
  // Sentinel mode: asks ROLE again (not on a subscriber connection): a demoted node still
  // takes PUBLISH, so nothing else would tell.
  void check_role();

  void on_ready(std::function<void()> f) { on_ready_ = std::move(f); }
  void on_down(std::function<void()> f) { on_down_ = std::move(f); }
  void on_push(PushHandler f) { on_push_ = std::move(f); }

  void start();
  // Pending commands' handlers get nullptr (posted); start() may follow.
  void stop();
  // Drops the connection and reconnects (e.g. when it went deaf).
  void restart(std::string_view why);
  bool ready() const { return state_ == State::ready; }
  // Bytes queued or being written: grows when Redis stops reading.
  std::size_t backlog_bytes() const { return out_.size() + writing_.size(); }
  // Memory the write buffers hold: back under 128 KiB once a burst is written.
  std::size_t write_buffer_capacity() const { return out_.capacity() + writing_.capacity(); }

  // While not ready the handler gets nullptr (posted, never inline).
  void command(std::initializer_list<std::string_view> args, ReplyHandler handler);
  void command(const std::vector<std::string_view>& args, ReplyHandler handler);
  // A command answered by pushes only (SUBSCRIBE, UNSUBSCRIBE); false when not ready.
  bool push_command(const std::vector<std::string_view>& args);

  const RedisEndpoint& endpoint() const { return endpoint_; }
  // Where it connects (or last connected); empty for a unix socket.
  const RedisAddress& address() const { return address_; }

 private:
  enum class State { stopped, waiting, connecting, handshake, ready, draining };
  struct Stream;  // TCP, TLS or unix socket

  void do_connect();
  void on_connected();
  void on_handshake_reply(const redisReply* reply, bool last, bool role_check);
  void not_master(std::string why);
  std::string where() const;
  void became_ready();
  void fail(std::string_view why);
  void drain(std::string why);
  void schedule_reconnect();
  void queue(ReplyHandler handler);
  void schedule_flush();
  void do_write();
  void do_read();
  void on_read(std::size_t n);
  bool is_push(const redisReply& r) const;

  boost::asio::io_context& io_;
  RedisEndpoint endpoint_;
  RedisAddress address_;
  std::string name_;
  std::function<std::optional<RedisAddress>()> master_source_;
  std::function<void(std::string_view)> not_master_;
  bool check_role_ = false;  // follow_master(): ROLE before ready, check_role() later
  // Shared with its pending operations: a TLS stream must outlive them after a reconnect.
  std::shared_ptr<Stream> stream_;
  boost::asio::steady_timer retry_timer_;
  Backoff backoff_{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};
  State state_ = State::stopped;
  std::uint64_t generation_ = 0;  // bumped on every (re)connect: stale completions ignore
  bool was_ready_ = false;        // a lost connection is logged once, not each failed retry
  std::string out_;               // commands waiting for the next write
  std::string writing_;           // the buffer of the write in flight
  bool write_in_flight_ = false;
  bool flush_posted_ = false;
  std::deque<ReplyHandler> handlers_;
  std::unique_ptr<ReplyReader> reader_;
  std::vector<char> read_buffer_;
  std::function<void()> on_ready_;
  std::function<void()> on_down_;
  PushHandler on_push_;
};

}  // namespace realtime
