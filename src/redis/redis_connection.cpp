#include "redis/redis_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <variant>

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace realtime {
namespace {

constexpr auto connect_timeout = std::chrono::seconds(5);
// How long a subscriber leaving a master waits for what is still on its way.
constexpr auto drain_timeout = std::chrono::seconds(1);
constexpr std::size_t read_chunk = 64 * 1024;
// A burst (a reconnect storm's presence scripts) can grow the write buffers to megabytes, and
// out_ and writing_ trade places on every write: each would keep its largest size for the life
// of the connection. Past this, a written buffer is given back.
constexpr std::size_t kept_write_capacity = 64 * 1024;

void release_if_large(std::string& buffer) {
  if (buffer.capacity() > kept_write_capacity) {
    std::string().swap(buffer);
  } else {
    buffer.clear();
  }
}

// The first element of a ROLE reply: master, slave or sentinel.
std::string role_of(const redisReply& reply) {
  if (!reply_is_array(reply) || reply_size(reply) == 0) return "node of unknown role";
  return std::string(reply_string(reply_at(reply, 0)));
}

}  // namespace

struct RedisConnection::Stream {
  using Tls = net::ssl::stream<tcp::socket>;

  explicit Stream(net::io_context& io, const RedisEndpoint& ep) : resolver(io) {
    switch (ep.transport) {
      case RedisEndpoint::Transport::tcp:
        socket.emplace<tcp::socket>(io);
        break;
      case RedisEndpoint::Transport::unix_socket:
        socket.emplace<net::local::stream_protocol::socket>(io);
        break;
      case RedisEndpoint::Transport::tls:
        tls_context = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
        if (ep.tls_ca_file.empty()) {
          tls_context->set_default_verify_paths();
        } else {
          error_code ec;  // an unreadable file shows as a failed handshake, logged once
          tls_context->load_verify_file(ep.tls_ca_file, ec);
        }
        tls_context->set_verify_mode(ep.tls_verify ? net::ssl::verify_peer : net::ssl::verify_none);
        socket.emplace<Tls>(io, *tls_context);
        break;
    }
  }

  // The variant is never empty after construction: monostate only lets it be built in place.
  template <typename Handler>
  void async_read_some(net::mutable_buffer buffer, Handler&& handler) {
    std::visit(
        [&](auto& s) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
            s.async_read_some(buffer, std::forward<Handler>(handler));
          }
        },
        socket);
  }
  template <typename Handler>
  void async_write(net::const_buffer buffer, Handler&& handler) {
    std::visit(
        [&](auto& s) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
            net::async_write(s, buffer, std::forward<Handler>(handler));
          }
        },
        socket);
  }
  void close() {
    error_code ignored;
    resolver.cancel();
    std::visit(
        [&](auto& s) {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, Tls>) {
            s.lowest_layer().close(ignored);
          } else if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
            s.close(ignored);
          }
        },
        socket);
  }

  std::unique_ptr<net::ssl::context> tls_context;  // before the stream that uses it
  std::variant<std::monostate, tcp::socket, net::local::stream_protocol::socket, Tls> socket;
  tcp::resolver resolver;
};

RedisConnection::RedisConnection(net::io_context& io, RedisEndpoint endpoint, std::string name)
    : io_(io),
      endpoint_(std::move(endpoint)),
      address_{endpoint_.host, endpoint_.port},
      name_(std::move(name)),
      retry_timer_(io),
      reader_(std::make_unique<ReplyReader>()),
      read_buffer_(read_chunk) {}

RedisConnection::~RedisConnection() = default;

void RedisConnection::follow_master(std::function<std::optional<RedisAddress>()> where,
                                    std::function<void(std::string_view)> not_master) {
  master_source_ = std::move(where);
  not_master_ = std::move(not_master);
  check_role_ = true;
}

void RedisConnection::follow_address(std::function<std::optional<RedisAddress>()> where) {
  master_source_ = std::move(where);
  check_role_ = false;
}

void RedisConnection::master_moved(const RedisAddress& address) {
  if (state_ == State::waiting) {
    // Don't sit out the backoff: the reason to wait is gone.
    retry_timer_.cancel();
    do_connect();
  } else if (state_ == State::ready && on_push_ && address_ != address) {
    drain("the master moved to " + address.display());
  } else if (state_ != State::stopped && state_ != State::draining && address_ != address) {
    fail("the master moved to " + address.display());
  }
}

void RedisConnection::drain(std::string why) {
  // The old master answered PUBLISHes whose messages may still be in our socket, or in its
  // output buffer for us: closing now would lose events already answered 202. Redis runs
  // commands in order, so its answer to a PING sent now comes after the messages of every
  // PUBLISH it ran before (not of those other nodes send it later, unaware of the switch).
  state_ = State::draining;
  spdlog::info("redis {} leaving {}: {}; reading what it already sent first", name_, where(), why);
  const std::uint64_t gen = generation_;
  if (on_down_) on_down_();
  if (gen != generation_ || state_ != State::draining) return;
  append_command(out_, {"PING"});
  queue([this, gen, why](const redisReply*) {
    if (gen == generation_ && state_ == State::draining) fail(why);
  });
  retry_timer_.expires_after(drain_timeout);
  retry_timer_.async_wait([this, gen, why](error_code ec) {
    if (ec || gen != generation_ || state_ != State::draining) return;
    spdlog::warn(
        "redis {}: {} did not answer a PING within 1 s; leaving it without what it "
        "may still hold for us",
        name_, where());
    fail(why);
  });
}

void RedisConnection::check_role() {
  if (!check_role_ || state_ != State::ready) return;
  command({"ROLE"}, [this, gen = generation_](const redisReply* reply) {
    if (reply == nullptr || gen != generation_ || reply_is_error(*reply)) return;
    if (const std::string role = role_of(*reply); role != "master") {
      not_master(address_.display() + " is now a " + role + ", not the master");
    }
  });
}

std::string RedisConnection::where() const {
  if (endpoint_.transport == RedisEndpoint::Transport::unix_socket) return endpoint_.display();
  if (master_source_ && !address_.host.empty()) {
    if (!endpoint_.uses_sentinel()) return address_.display();
    return address_.display() + " (master " + endpoint_.master_name + ")";
  }
  return endpoint_.display();
}

void RedisConnection::not_master(std::string why) {
  fail(why);
  if (not_master_) not_master_(why);
}

void RedisConnection::start() {
  if (state_ != State::stopped) return;
  do_connect();
}

void RedisConnection::stop() {
  state_ = State::stopped;
  ++generation_;
  retry_timer_.cancel();
  if (stream_) stream_->close();
  // Their replies will never come: a publish would wait forever, and after a start() the
  // handshake's replies would go to them. Posted, since stop() may run inside a handler.
  auto orphans = std::move(handlers_);
  handlers_.clear();
  for (auto& h : orphans) {
    if (h) net::post(io_, [h = std::move(h)] { h(nullptr); });
  }
}

void RedisConnection::restart(std::string_view why) {
  if (state_ == State::stopped) return;
  fail(why);
}

void RedisConnection::do_connect() {
  if (master_source_) {
    std::optional<RedisAddress> master = master_source_();
    if (!master) {
      // Quietly: the sentinel watch logs its own trouble, and master_moved() wakes us.
      state_ = State::waiting;
      return schedule_reconnect();
    }
    address_ = std::move(*master);
  }
  state_ = State::connecting;
  const std::uint64_t gen = ++generation_;
  stream_ = std::make_shared<Stream>(io_, endpoint_);
  reader_ = std::make_unique<ReplyReader>();
  release_if_large(out_);
  // Kept, not freed: the old stream's write may not have completed yet (its completion is
  // ignored, but it may still point into this buffer).
  writing_.clear();
  write_in_flight_ = false;

  retry_timer_.expires_after(connect_timeout);
  retry_timer_.async_wait([this, gen](error_code ec) {
    // Covers the login too: a peer that accepts but never answers is as good as none.
    if (!ec && gen == generation_ && (state_ == State::connecting || state_ == State::handshake)) {
      fail("connect timed out");
    }
  });

  auto connected = [this, gen, keep = stream_](error_code ec) {
    if (gen != generation_) return;
    if (ec) return fail(ec.message());
    if (auto* tls = std::get_if<Stream::Tls>(&stream_->socket)) {
      if (!SSL_set_tlsext_host_name(tls->native_handle(), address_.host.c_str())) {
        return fail("cannot set the TLS server name");
      }
      if (endpoint_.tls_verify)
        tls->set_verify_callback(net::ssl::host_name_verification(address_.host));
      tls->async_handshake(net::ssl::stream_base::client, [this, gen, keep](error_code ec) {
        if (gen != generation_) return;
        if (ec) return fail("TLS handshake: " + ec.message());
        on_connected();
      });
      return;
    }
    on_connected();
  };

  if (endpoint_.transport == RedisEndpoint::Transport::unix_socket) {
    auto& s = std::get<net::local::stream_protocol::socket>(stream_->socket);
    s.async_connect(net::local::stream_protocol::endpoint(endpoint_.path), connected);
    return;
  }
  stream_->resolver.async_resolve(
      address_.host, std::to_string(address_.port),
      [this, gen, connected, keep = stream_](error_code ec, tcp::resolver::results_type results) {
        if (gen != generation_) return;
        if (ec) return fail("resolve " + address_.host + ": " + ec.message());
        auto& socket = std::holds_alternative<tcp::socket>(stream_->socket)
                           ? std::get<tcp::socket>(stream_->socket)
                           : std::get<Stream::Tls>(stream_->socket).next_layer();
        net::async_connect(socket, results,
                           [connected](error_code ec, const tcp::endpoint&) { connected(ec); });
      });
}

void RedisConnection::on_connected() {
  state_ = State::handshake;
  if (auto* s = std::get_if<tcp::socket>(&stream_->socket)) {
    error_code ignored;
    s->set_option(tcp::no_delay(true), ignored);
  }
  do_read();
  // Log in and pick the database before anything else; PING when there is nothing to say, so
  // "ready" always means Redis answered.
  int steps = 0;
  if (!endpoint_.password.empty()) {
    if (endpoint_.username.empty()) {
      append_command(out_, {"AUTH", endpoint_.password});
    } else {
      append_command(out_, {"AUTH", endpoint_.username, endpoint_.password});
    }
    ++steps;
  }
  if (endpoint_.db != 0) {
    append_command(out_, {"SELECT", std::to_string(endpoint_.db)});
    ++steps;
  }
  // A sentinel's answer may be stale (a failover under way): ask the node itself.
  const bool role_check = check_role_;
  if (role_check || steps == 0) {
    append_command(out_, {role_check ? "ROLE" : "PING"});
    ++steps;
  }
  for (int i = 0; i < steps; ++i) {
    const bool last = i == steps - 1;
    handlers_.push_back([this, last, role_check](const redisReply* r) {
      on_handshake_reply(r, last, last && role_check);
    });
  }
  do_write();
}

void RedisConnection::on_handshake_reply(const redisReply* reply, bool last, bool role_check) {
  if (reply == nullptr || state_ != State::handshake) return;
  if (role_check && reply_is_error(*reply)) {
    // ROLE is an @admin command: a user without it can't ask. Trust the sentinels then; a
    // READONLY reply still tells a demoted node.
    spdlog::warn("redis {} cannot check the role of {}: {}", name_, address_.display(),
                 reply_string(*reply));
    return became_ready();
  }
  if (reply_is_error(*reply)) {
    // Wrong password or database: say it loudly, then keep retrying (it may be fixed live).
    spdlog::error("redis {} ({}) refused the login: {}", name_, where(), reply_string(*reply));
    return fail("login refused");
  }
  if (role_check) {
    if (const std::string role = role_of(*reply); role != "master") {
      return not_master(address_.display() + " is a " + role + ", not the master");
    }
  }
  if (last) became_ready();
}

void RedisConnection::became_ready() {
  state_ = State::ready;
  retry_timer_.cancel();  // the connect deadline
  backoff_.reset();
  spdlog::info("redis {} connected to {}", name_, where());
  was_ready_ = true;
  if (on_ready_) on_ready_();
}

void RedisConnection::fail(std::string_view why) {
  if (state_ == State::stopped) return;
  const bool was_up = state_ == State::ready;
  const bool was_draining = state_ == State::draining;  // on_down already ran
  ++generation_;
  state_ = State::waiting;
  if (stream_) stream_->close();
  retry_timer_.cancel();
  release_if_large(out_);
  auto orphans = std::move(handlers_);
  handlers_.clear();
  if (was_draining) {
    spdlog::info("redis {} left {}: {}; reconnecting", name_, where(), why);
  } else if (was_up) {
    spdlog::warn("redis {} lost ({}): {}; reconnecting", name_, where(), why);
  } else if (!was_ready_ && backoff_.attempts() == 0) {
    spdlog::warn("redis {} cannot connect to {}: {}; retrying", name_, where(), why);
  } else {
    spdlog::debug("redis {} reconnect failed: {}", name_, why);
  }
  if (was_up && on_down_) on_down_();
  for (auto& h : orphans) {
    if (h) h(nullptr);
  }
  if (state_ != State::waiting) return;
  // Left for a new master, which is known: no reason to sit out a backoff.
  if (was_draining) return do_connect();
  schedule_reconnect();
}

void RedisConnection::schedule_reconnect() {
  retry_timer_.expires_after(backoff_.next());
  const std::uint64_t gen = generation_;
  retry_timer_.async_wait([this, gen](error_code ec) {
    if (!ec && gen == generation_ && state_ == State::waiting) do_connect();
  });
}

void RedisConnection::command(std::initializer_list<std::string_view> args, ReplyHandler handler) {
  if (state_ != State::ready) {
    if (handler) net::post(io_, [h = std::move(handler)] { h(nullptr); });
    return;
  }
  append_command(out_, args);
  queue(std::move(handler));
}

void RedisConnection::command(const std::vector<std::string_view>& args, ReplyHandler handler) {
  if (state_ != State::ready) {
    if (handler) net::post(io_, [h = std::move(handler)] { h(nullptr); });
    return;
  }
  append_command(out_, args);
  queue(std::move(handler));
}

bool RedisConnection::push_command(const std::vector<std::string_view>& args) {
  if (state_ != State::ready) return false;
  append_command(out_, args);
  schedule_flush();
  return true;
}

void RedisConnection::queue(ReplyHandler handler) {
  // Every command has an entry, even without a handler: replies are matched by position.
  handlers_.push_back(std::move(handler));
  schedule_flush();
}

void RedisConnection::schedule_flush() {
  if (flush_posted_ || write_in_flight_) return;
  flush_posted_ = true;
  // Posted: everything queued in this loop turn leaves in one write.
  net::post(io_, [this, gen = generation_] {
    flush_posted_ = false;
    if (gen == generation_) do_write();
  });
}

void RedisConnection::do_write() {
  if (write_in_flight_ || out_.empty()) return;
  std::swap(out_, writing_);
  write_in_flight_ = true;
  stream_->async_write(net::buffer(writing_),
                       [this, gen = generation_, keep = stream_](error_code ec, std::size_t) {
                         if (gen != generation_) return;
                         write_in_flight_ = false;
                         release_if_large(writing_);
                         if (ec) return fail("write: " + ec.message());
                         do_write();
                       });
}

void RedisConnection::do_read() {
  stream_->async_read_some(net::buffer(read_buffer_), [this, gen = generation_, keep = stream_](
                                                          error_code ec, std::size_t n) {
    if (gen != generation_) return;
    if (ec) {
      return fail(ec == net::error::eof ? "connection closed by Redis" : ec.message());
    }
    on_read(n);
  });
}

bool RedisConnection::is_push(const redisReply& r) const {
  if (!on_push_ || !reply_is_array(r) || reply_size(r) < 2) return false;
  const std::string_view kind = reply_string(reply_at(r, 0));
  return kind == "message" || kind == "subscribe" || kind == "unsubscribe" || kind == "smessage" ||
         kind == "ssubscribe" || kind == "sunsubscribe" || kind == "pmessage" ||
         kind == "psubscribe" || kind == "punsubscribe";
}

void RedisConnection::on_read(std::size_t n) {
  reader_->feed(std::string_view(read_buffer_.data(), n));
  const std::uint64_t gen = generation_;
  for (;;) {
    std::string error;
    ReplyPtr reply = reader_->next(error);
    if (!error.empty()) return fail("protocol error: " + error);
    if (!reply) break;
    if (is_push(*reply)) {
      on_push_(*reply);
    } else if (check_role_ && reply_is_error(*reply) &&
               reply_string(*reply).starts_with("READONLY")) {
      // Demoted under us, and the sentinels' news did not reach us: the handlers of this and
      // every later command get nullptr, as for any lost connection.
      return not_master(address_.display() + " answered READONLY: no longer the master");
    } else if ((handlers_.empty() || state_ == State::draining) && on_push_ &&
               reply_is_error(*reply)) {
      // A (S)SUBSCRIBE refused, e.g. MOVED: the push handler decides what to do. While
      // draining, the one handler is the PING's, which a refusal sent before it must not end.
      on_push_(*reply);
    } else if (handlers_.empty()) {
      return fail("a reply nobody asked for");
    } else {
      ReplyHandler handler = std::move(handlers_.front());
      handlers_.pop_front();
      if (handler) handler(reply.get());
    }
    if (gen != generation_) return;  // a handler restarted or stopped the connection
  }
  do_read();
}

}  // namespace realtime
