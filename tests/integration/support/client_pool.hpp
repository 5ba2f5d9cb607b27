#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace realtime::testing {

// Many WebSocket connections driven asynchronously by one io_context on one background thread:
// thousands of clients cost seconds, not minutes, and one test thread. Every connection reads
// continuously and hands each text message to `on_message`, on the pool's thread.
class ClientPool {
 public:
  using MessageHandler = std::function<void(std::size_t index, std::string_view text)>;
  using TargetFor = std::function<std::string(std::size_t index)>;

  ClientPool(std::uint16_t port, MessageHandler on_message);
  ~ClientPool();
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // Opens `count` more connections (indices continue from size()), connection i upgrading at
  // target(i), with at most `parallel` connects/handshakes in flight. Blocks until every
  // attempt finished or `timeout` passed; returns how many of them are connected.
  std::size_t Open(std::size_t count, const TargetFor& target, std::size_t parallel,
                   std::chrono::milliseconds timeout);

  void SendTo(std::size_t index, std::string text);
  void SendToAll(const std::string& text);
  // Starts a close handshake (code 1000) on connection `index`.
  void CloseOne(std::size_t index);
  // Closes every open connection with a close handshake and waits until all have ended.
  // Returns false if some had not ended by `timeout`.
  bool CloseAll(std::chrono::milliseconds timeout);

  // Connections opened so far (successful or not).
  std::size_t size() const { return size_; }
  std::size_t connected() const { return connected_.load(); }
  // Connections whose reading ended without this pool closing them: a server-side close,
  // an EOF or a reset.
  std::size_t unexpected_ends() const { return unexpected_ends_.load(); }
  // The first few connect/handshake/read failures, for messages.
  std::vector<std::string> failures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t size_ = 0;
  std::atomic<std::size_t> connected_{0};
  std::atomic<std::size_t> unexpected_ends_{0};
};

}  // namespace realtime::testing
