#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

#include "client/client_session.hpp"
#include "net/shard.hpp"
#include "net/ws_stream.hpp"
#include "server/http_api.hpp"

namespace realtime {

class Shard;

// A protocol v1 client (docs/protocol.md) on a WebSocket: the shared client logic
// (ClientSession) over a WsStream, with v1's JSON frames as its dialect. Owned by one shard and
// touched only on its thread.
class WsSession final : public ClientSession,
                        public WsStream::Owner,
                        public std::enable_shared_from_this<WsSession> {
 public:
  // `pending_input`: bytes that arrived after the upgrade request, already read by HttpSession.
  WsSession(ShardSocket&& socket, Shard& shard, UpgradeGrant grant, std::string pending_input);
  ~WsSession() override;

  // Sends the 101 and the welcome, then reads.
  void run();

  void close(unsigned short code, std::string_view reason) override { stream_.close(code, reason); }
  bool closing() const override { return stream_.closing(); }
  Clock::time_point last_activity() const override { return stream_.last_activity(); }
  void sweep(Clock::time_point now, std::int64_t now_ms) override {
    ClientSession::sweep(now, now_ms);
    stream_.sweep_idle();
  }
  void deliver(const TopicFrame& item) override {
    stream_.send(stream_.deflate() ? shard().deflated(item.deflated, item.frame) : item.frame);
  }

 private:
  // WsStream::Owner
  void on_ws_message(std::string_view payload, bool text, Clock::time_point now) override;
  void on_ws_end() override;
  std::shared_ptr<void> ws_hold() override { return shared_from_this(); }

  // ClientSession: v1's frames.
  void send_welcome() override;
  void reply_subscribed(std::string_view id, std::string_view topic, bool server,
                        const SubscribedPosition* position) override;
  void reply_unsubscribed(std::string_view id, std::string_view topic,
                          std::string_view reason) override;
  void reply_ack(std::string_view id) override;
  void reply_pong(std::string_view id) override;
  void reply_refreshed(std::string_view id, std::int64_t expires_at_ms) override;
  void reply_error(std::string_view id, ErrorCode code, std::string_view message) override;
  std::shared_ptr<ClientSession> self() override { return shared_from_this(); }
  boost::asio::any_io_executor executor() override { return stream_.executor(); }

  // Ends the client and gives the connection slot back; once.
  void finish();

  WsStream stream_;
  bool finished_ = false;
};

}  // namespace realtime
