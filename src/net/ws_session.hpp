#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "core/rate_limiter.hpp"
#include "protocol/client_message.hpp"
#include "protocol/frame.hpp"
#include "server/http_api.hpp"

namespace realtime {

class Shard;

// One client's WebSocket, owned by one shard and touched only on its thread. Frames wait in a
// bounded queue and are written one at a time in order; a client whose queue overflows is closed
// with 4008 instead of growing the server's memory.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  WsSession(boost::asio::ip::tcp::socket&& socket, Shard& shard, UpgradeGrant grant);
  ~WsSession();

  void run(Request request);
  void send(const FramePtr& frame);
  void close(unsigned short code, std::string_view reason);
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  bool closing() const { return closing_ || finished_; }

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_message(std::string_view text);
  void on_subscribe(const ClientMessage& msg);
  void on_unsubscribe(const ClientMessage& msg);
  void on_publish(ClientMessage msg);
  void subscribe(const std::string& topic, std::string_view id);
  void send_text(std::string text);
  void send_error(std::string_view id, ErrorCode code, std::string_view message);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void arm_close_deadline();
  // Leaves every topic, presence and the shard; exactly once, when the connection ends.
  void finish();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  Shard& shard_;
  UpgradeGrant grant_;
  std::string connection_id_;
  std::deque<FramePtr> queue_;
  std::size_t queued_bytes_ = 0;
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;  // only while closing
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point connected_at_ = last_activity_;
  RateLimiter rate_limiter_;  // after last_activity_: initialised from it
  bool accepted_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

}  // namespace realtime
