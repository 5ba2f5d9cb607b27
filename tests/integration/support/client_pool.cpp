#include "support/client_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

namespace realtime::testing {
namespace {

constexpr std::size_t kMaxFailuresKept = 20;
constexpr auto kHandshakeTimeout = std::chrono::seconds(60);

struct Connection {
  Connection(net::io_context& io, std::size_t i) : ws(io), index(i) {}

  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
  std::deque<std::string> outbox;  // deque: push_back keeps the front (being written) in place
  std::size_t index;
  bool open = false;
  bool writing = false;
  bool closing = false;  // closed by the pool, so its end is expected
  bool close_after_write = false;
};

// One Open() call: which connections are left to start and how many have finished.
struct OpenBatch {
  std::size_t next = 0;
  std::size_t end = 0;
  std::size_t finished = 0;
  std::size_t connected = 0;
  ClientPool::TargetFor target;
};

}  // namespace

struct ClientPool::Impl {
  Impl(ClientPool& owner, std::uint16_t port, MessageHandler on_message)
      : owner(owner), port(port), on_message(std::move(on_message)) {}

  ClientPool& owner;
  const std::uint16_t port;
  const MessageHandler on_message;
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  std::vector<std::shared_ptr<Connection>> connections;  // only touched on the pool thread
  std::thread thread;

  mutable std::mutex mutex;  // guards what other threads wait on: batch progress, failures
  std::condition_variable changed;
  std::vector<std::string> failures;
  std::size_t ended = 0;

  void Fail(std::string message) {
    std::lock_guard lock(mutex);
    if (failures.size() < kMaxFailuresKept) failures.push_back(std::move(message));
  }

  void StartNext(const std::shared_ptr<OpenBatch>& batch) {
    if (batch->next >= batch->end) return;
    Connect(connections[batch->next++], batch);
  }

  void Finished(const std::shared_ptr<OpenBatch>& batch, bool ok) {
    {
      std::lock_guard lock(mutex);
      ++batch->finished;
      if (ok) ++batch->connected;
    }
    changed.notify_all();
    StartNext(batch);
  }

  void Connect(std::shared_ptr<Connection> c, std::shared_ptr<OpenBatch> batch) {
    auto& stream = beast::get_lowest_layer(c->ws);
    stream.expires_after(kHandshakeTimeout);
    const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
    stream.async_connect(endpoint, [this, c, batch](beast::error_code ec) {
      if (ec) {
        Fail("connect #" + std::to_string(c->index) + ": " + ec.message());
        return Finished(batch, false);
      }
      // From here on the WebSocket's own timeouts apply; Beast wants the stream's off.
      beast::get_lowest_layer(c->ws).expires_never();
      websocket::stream_base::timeout timeouts{};
      timeouts.handshake_timeout = kHandshakeTimeout;
      timeouts.idle_timeout = websocket::stream_base::none();
      timeouts.keep_alive_pings = false;
      c->ws.set_option(timeouts);
      c->ws.async_handshake(
          "127.0.0.1:" + std::to_string(port), batch->target(c->index),
          [this, c, batch](beast::error_code ec) {
            if (ec) {
              Fail("handshake #" + std::to_string(c->index) + ": " + ec.message());
              return Finished(batch, false);
            }
            c->open = true;
            ++owner.connected_;
            Read(c);
            Finished(batch, true);
          });
    });
  }

  void Read(std::shared_ptr<Connection> c) {
    c->ws.async_read(c->buffer, [this, c](beast::error_code ec, std::size_t bytes) {
      if (ec) return Ended(*c, ec);
      if (c->ws.got_text()) {
        const auto data = c->buffer.cdata();
        on_message(c->index, std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      c->buffer.consume(bytes);
      Read(c);
    });
  }

  void Ended(Connection& c, beast::error_code ec) {
    c.open = false;
    if (!c.closing) {
      ++owner.unexpected_ends_;
      std::string why = ec == websocket::error::closed
                            ? "close code " + std::to_string(c.ws.reason().code)
                            : ec.message();
      Fail("connection #" + std::to_string(c.index) + " ended: " + why);
    }
    {
      std::lock_guard lock(mutex);
      ++ended;
    }
    changed.notify_all();
  }

  void Write(std::shared_ptr<Connection> c) {
    c->writing = true;
    c->ws.async_write(net::buffer(c->outbox.front()), [this, c](beast::error_code ec, std::size_t) {
      c->writing = false;
      c->outbox.pop_front();
      if (ec) return;  // the read side reports the end
      if (!c->outbox.empty()) return Write(c);
      if (c->close_after_write) StartClose(c);
    });
  }

  void Send(const std::shared_ptr<Connection>& c, std::string text) {
    if (!c->open || c->closing) return;
    c->outbox.push_back(std::move(text));
    if (!c->writing) Write(c);
  }

  void StartClose(const std::shared_ptr<Connection>& c) {
    if (!c->open) return;
    c->closing = true;
    // Beast allows one write-side operation at a time: a close waits for the pending write.
    if (c->writing) {
      c->close_after_write = true;
      return;
    }
    c->ws.async_close(websocket::close_code::normal, [c](beast::error_code) {});
  }
};

ClientPool::ClientPool(std::uint16_t port, MessageHandler on_message)
    : impl_(std::make_unique<Impl>(*this, port, std::move(on_message))) {
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

ClientPool::~ClientPool() {
  // Closing every socket ends every pending operation; then the loop runs out of work.
  net::post(impl_->io, [impl = impl_.get()] {
    for (auto& c : impl->connections) {
      c->closing = true;
      beast::error_code ignored;
      beast::get_lowest_layer(c->ws).socket().close(ignored);
    }
  });
  impl_->work.reset();
  impl_->thread.join();
}

std::size_t ClientPool::Open(std::size_t count, const TargetFor& target, std::size_t parallel,
                             std::chrono::milliseconds timeout) {
  auto batch = std::make_shared<OpenBatch>();
  batch->next = size_;
  batch->end = size_ + count;
  batch->target = target;
  size_ += count;
  net::post(impl_->io, [impl = impl_.get(), batch, count, parallel] {
    for (std::size_t i = 0; i < count; ++i) {
      impl->connections.push_back(std::make_shared<Connection>(impl->io, impl->connections.size()));
    }
    for (std::size_t i = 0; i < parallel; ++i) impl->StartNext(batch);
  });
  std::unique_lock lock(impl_->mutex);
  impl_->changed.wait_for(lock, timeout, [&] { return batch->finished == count; });
  return batch->connected;
}

void ClientPool::SendTo(std::size_t index, std::string text) {
  net::post(impl_->io, [impl = impl_.get(), index, text = std::move(text)]() mutable {
    impl->Send(impl->connections.at(index), std::move(text));
  });
}

void ClientPool::SendToAll(const std::string& text) {
  net::post(impl_->io, [impl = impl_.get(), text] {
    for (auto& c : impl->connections) impl->Send(c, text);
  });
}

void ClientPool::CloseOne(std::size_t index) {
  net::post(impl_->io,
            [impl = impl_.get(), index] { impl->StartClose(impl->connections.at(index)); });
}

bool ClientPool::CloseAll(std::chrono::milliseconds timeout) {
  net::post(impl_->io, [impl = impl_.get()] {
    for (auto& c : impl->connections) impl->StartClose(c);
  });
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->ended == connected_.load(); });
}

std::vector<std::string> ClientPool::failures() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failures;
}

}  // namespace realtime::testing
