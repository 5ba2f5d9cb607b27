#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <optional>

#include "net/shard_socket.hpp"
#include "server/http_api.hpp"

namespace realtime {

class Shard;

// One HTTP/1.1 connection: reads requests (bounded size and time), answers them through HttpApi,
// and hands a /realtime/connect upgrade over to a WsSession on the same shard.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(ShardSocket&& socket, Shard& shard, bool from_loopback);
  void run();

 private:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void upgrade(HttpRequest request);
  void socketio_upgrade(HttpRequest request);
  void on_token_claimed(UpgradeGrant grant, TokenClaims::Result result);
  void start_websocket(UpgradeGrant grant);
  // `head`: the request was HEAD, so the body is left out (its Content-Length stays).
  void write(HttpResponse response, bool keep_alive, bool head = false);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void drain();

  boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  Shard& shard_;
  bool from_loopback_ = false;  // the peer's address, known from the accept
};

}  // namespace realtime
