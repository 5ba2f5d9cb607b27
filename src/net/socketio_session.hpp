#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/client_session.hpp"
#include "net/ws_stream.hpp"
#include "protocol/socketio/connection_fsm.hpp"
#include "protocol/socketio/upgrade_fsm.hpp"

namespace realtime {

class SocketIoGateway;

// One Engine.IO session speaking Socket.IO (docs/socketio.md): the shared client logic
// (ClientSession) with Socket.IO as its dialect, over long-polling or a WebSocket (WsStream), and
// the upgrade from the first to the second. The identity comes with the Socket.IO CONNECT, not
// the HTTP request: a session starts its ClientSession only then. Lives on one shard; its
// methods run on that shard's thread.
class SocketIoSession final : public ClientSession,
                              public std::enable_shared_from_this<SocketIoSession> {
 public:
  // `query_user`, `query_role`: ?user= and ?role= of the handshake, for dev mode's anonymous
  // clients.
  SocketIoSession(Shard& shard, SocketIoGateway& gateway, std::string query_user,
                  std::string query_role);
  ~SocketIoSession() override;

  // The session's shard's loop: where its methods must run.
  boost::asio::any_io_executor executor() override;
  // Its shard's loop: where a socket handed to it must live.
  boost::asio::io_context& io();

  // Polling, under `sid` (the gateway's key for it). The handshake's answer (the open packet) is
  // what open_polling() returns.
  std::string open_polling(std::string sid);
  // GET: answers at once with what is waiting, or later (a ping, events, the close).
  void on_poll(Respond respond);
  // POST: the packets of a polling payload.
  void on_post(std::string body, Respond respond);

  // A WebSocket: a new session's only transport (`sid` is only said in its open packet: nothing
  // asks for it later), or a polling session's upgrade probe. `deflate`: the handshake
  // negotiated permessage-deflate.
  void open_websocket(std::string_view sid, ShardSocket&& socket, std::string pending,
                      std::string accept_key, bool deflate);
  void upgrade_websocket(ShardSocket&& socket, std::string pending, std::string accept_key,
                         bool deflate);

  // ClientSession
  void deliver(const TopicFrame& item) override;
  void sweep(Clock::time_point now, std::int64_t now_ms) override;
  bool closing() const override { return closing_ || finished_; }
  void close(unsigned short code, std::string_view reason) override;
  Clock::time_point last_activity() const override { return last_activity_; }

 private:
  enum class Transport { polling, websocket };

  // The owner of the session's WebSockets (the transport, or a polling session's upgrade probe,
  // which becomes the transport when the upgrade completes).
  struct WsOwner final : WsStream::Owner {
    explicit WsOwner(SocketIoSession& s) : session(s) {}
    void on_ws_message(std::string_view payload, bool text, Clock::time_point now) override;
    void on_ws_end() override;
    std::shared_ptr<void> ws_hold() override { return session.shared_from_this(); }
    SocketIoSession& session;
  };

  void send_welcome() override {}  // the CONNECT's answer is the welcome
  void reply_subscribed(std::string_view id, std::string_view topic, bool server,
                        const SubscribedPosition* position) override;
  void reply_unsubscribed(std::string_view id, std::string_view topic,
                          std::string_view reason) override;
  void reply_ack(std::string_view id) override;
  void reply_pong(std::string_view id) override { reply_ack(id); }
  void reply_refreshed(std::string_view id, std::int64_t expires_at_ms) override { reply_ack(id); }
  void reply_error(std::string_view id, ErrorCode code, std::string_view message) override;
  // The user's own topic (the backend's notifications) is a mailbox, not a place, even where it
  // is a subscription (Redis Cluster, or the client asked): being in it says nothing presence
  // doesn't know from the connection itself, and keeping it out saves a presence entry and a
  // Redis script per connection.
  bool present_in(std::string_view topic) const override;
  std::shared_ptr<ClientSession> self() override { return shared_from_this(); }

  // One Engine.IO packet from the client, on the current transport.
  void on_packet(std::string_view packet, Clock::time_point now);
  void execute(socketio::Action action);
  void authenticate(const socketio::Authenticate& request);
  void accept(Subject subject);
  void refuse(std::string_view reason);
  void answer_presence(const socketio::PresenceQuery& query);
  // The answer to the request with ack `id`, forgotten once taken.
  socketio::Reply take_reply(std::string_view id);
  // Sends one Engine.IO packet on the current transport.
  void send_packet(std::string_view packet);
  void send_frame(const FramePtr& ws_frame, std::string_view packet);
  void flush_polls();
  void answer_poll(std::string body);
  void on_upgrade_message(std::string_view payload, bool text);
  void switch_to_websocket();
  void drop_probe();
  std::unique_ptr<WsStream> make_stream(ShardSocket&& socket, std::string pending,
                                        std::string accept_key, bool deflate);
  // Ends the session: the transport, the client, the gateway's entry, the connection slot.
  void finish();

  // What only a session born on long-polling needs. Most clients open a WebSocket at once:
  // they carry none of it (an idle connection's size is the server's memory).
  struct Polling {
    explicit Polling(std::string s) : sid(std::move(s)) {}
    std::string sid;  // the gateway's key for the session
    // Packets waiting for the next GET (a payload), and that GET when it waits.
    std::string outbox;
    std::optional<Respond> poll;
    bool flush_posted = false;
    std::unique_ptr<WsStream> probe;  // the upgrade, until it completes
    socketio::UpgradeFsm upgrade;
    Clock::time_point probe_started{};
  };
  // Dev mode: who an anonymous CONNECT speaks for (?user=, ?role=), until the CONNECT.
  struct QueryIdentity {
    std::string user, role;
  };

  SocketIoGateway& gateway_;
  WsOwner ws_owner_{*this};
  std::unique_ptr<QueryIdentity> query_identity_;  // none when the query names nobody
  socketio::ConnectionFsm fsm_;
  Transport transport_ = Transport::polling;
  std::unique_ptr<WsStream> ws_;      // the WebSocket transport, once there is one
  std::unique_ptr<Polling> polling_;  // a session born on long-polling
  // Heartbeat: the server pings, the client answers.
  Clock::time_point created_ = Clock::now();
  Clock::time_point last_activity_ = created_;
  Clock::time_point last_ping_ = created_;
  bool awaiting_pong_ = false;
  // Answers owed, oldest first: ack id (decimal, as ClientMessage::id) and how to answer. Few
  // wait at once and most are answered in order: a vector is smaller than a map.
  std::vector<std::pair<std::string, socketio::Reply>> replies_;
  bool closing_ = false;
  bool finished_ = false;
};

}  // namespace realtime
