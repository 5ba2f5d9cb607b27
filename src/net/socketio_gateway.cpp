#include "net/socketio_gateway.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>

#include "net/shard.hpp"
#include "net/socketio_session.hpp"
#include "server/server_context.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

struct Query {
  std::string eio, transport, sid, user, role;
};

std::optional<Query> read_query(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  Query q;
  for (auto param : url->params()) {
    if (param.key == "EIO")
      q.eio = param.value;
    else if (param.key == "transport")
      q.transport = param.value;
    else if (param.key == "sid")
      q.sid = param.value;
    else if (param.key == "user")
      q.user = param.value;
    else if (param.key == "role")
      q.role = param.value;
  }
  return q;
}

// Engine.IO's error answers: {"code":N,"message":...} with 400.
HttpResponse engineio_error(int code, std::string_view message) {
  std::string body = "{\"code\":" + std::to_string(code) + ",\"message\":";
  append_json_string(body, message);
  body += '}';
  return {400, "application/json", std::move(body), {}};
}

std::optional<HttpResponse> check_query(const std::optional<Query>& q, std::string_view transport) {
  if (!q) return engineio_error(3, "Bad request: malformed request target");
  if (q->eio != "4") return engineio_error(5, "Unsupported protocol version: only EIO=4");
  if (q->transport != transport) return engineio_error(0, "Transport unknown");
  return std::nullopt;
}

}  // namespace

SocketIoGateway::SocketIoGateway(ServerContext& context, std::string path,
                                 socketio::DialectOptions options)
    : context_(context), path_(std::move(path)), options_(options) {
  if (path_.empty() || path_.back() != '/') path_ += '/';
}

SocketIoGateway::~SocketIoGateway() = default;

std::int64_t SocketIoGateway::ping_interval_ms() const {
  return context_.config->heartbeat_seconds * 500LL;
}

std::int64_t SocketIoGateway::ping_timeout_ms() const {
  return context_.config->heartbeat_seconds * 1000LL;
}

bool SocketIoGateway::handles(std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == path_ || path == std::string_view(path_).substr(0, path_.size() - 1);
}

std::string SocketIoGateway::new_sid() const {
  // The node's id first: a request that reaches another node says where the session lives.
  unsigned char raw[15];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string sid = context_.node_id + "-";
  for (unsigned char c : raw) sid += alphabet[c & 63];
  return sid;
}

std::shared_ptr<SocketIoSession> SocketIoGateway::find(const std::string& sid) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : it->second;
}

void SocketIoGateway::forget(const std::string& sid) {
  std::shared_ptr<SocketIoSession> gone;  // released outside the lock
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(sid); it != sessions_.end()) {
    gone = std::move(it->second);
    sessions_.erase(it);
  }
}

void SocketIoGateway::drop_all() {
  std::unordered_map<std::string, std::shared_ptr<SocketIoSession>> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(sessions_);
  }
  all.clear();  // each session's finish() calls forget(): not under the lock
}

HttpResponse SocketIoGateway::unknown_sid(const std::string& sid) const {
  const auto dash = sid.find('-');
  if (dash != std::string::npos && sid.substr(0, dash) != context_.node_id) {
    return engineio_error(
        1, "Session ID unknown here: it lives on node " + sid.substr(0, dash) +
               ". With several nodes, Socket.IO long-polling needs sticky routing (or use "
               "transports: ['websocket']): docs/socketio.md");
  }
  return engineio_error(1, "Session ID unknown");
}

std::optional<HttpResponse> SocketIoGateway::admit(const HttpRequest& request) const {
  if (context_.shutting_down.load()) return engineio_error(3, "server is shutting down");
  if (auto refused = context_.api->refuse_origin(request)) return refused;
  return context_.api->take_connection_slot();
}

void SocketIoGateway::handle_http(const HttpRequest& request, Shard& shard, Respond respond) {
  const auto query = read_query(request.target);
  if (auto bad = check_query(query, "polling")) return respond(std::move(*bad));
  const bool get = request.method == "GET";
  if (!get && request.method != "POST") {
    return respond(engineio_error(2, "Bad handshake method: GET or POST"));
  }
  if (query->sid.empty()) {
    if (!get) return respond(engineio_error(2, "Bad handshake method: the handshake is a GET"));
    if (auto refused = admit(request)) return respond(std::move(*refused));
    auto session = std::make_shared<SocketIoSession>(shard, *this, query->user, query->role);
    std::string sid = new_sid();
    {
      std::lock_guard lock(mutex_);
      sessions_.emplace(sid, session);
    }
    return respond({200, "text/plain; charset=UTF-8", session->open_polling(std::move(sid)), {}});
  }
  auto session = find(query->sid);
  if (!session) return respond(unknown_sid(query->sid));
  // The session lives on its own shard; the request arrived on any.
  if (get) {
    net::post(session->executor(), [session, respond = std::move(respond)]() mutable {
      session->on_poll(std::move(respond));
    });
  } else {
    net::post(session->executor(),
              [session, body = request.body, respond = std::move(respond)]() mutable {
                session->on_post(std::move(body), std::move(respond));
              });
  }
}

std::optional<HttpResponse> SocketIoGateway::upgrade(const HttpRequest& request, Shard& shard,
                                                     ShardSocket& socket, std::string& pending) {
  const auto query = read_query(request.target);
  if (auto bad = check_query(query, "websocket")) return bad;
  if (context_.shutting_down.load()) return engineio_error(3, "server is shutting down");
  auto accept = context_.api->websocket_accept(request);
  if (auto* refused = std::get_if<HttpResponse>(&accept)) return std::move(*refused);
  std::string accept_key = std::move(std::get<std::string>(accept));
  const bool deflate = context_.api->negotiate_deflate(request);
  if (query->sid.empty()) {
    if (auto refused = context_.api->take_connection_slot()) return refused;
    // Nothing finds a WebSocket-born session by its sid: no entry in the table (its reads hold
    // it, as they hold a v1 session).
    auto session = std::make_shared<SocketIoSession>(shard, *this, query->user, query->role);
    session->open_websocket(new_sid(), std::move(socket), std::move(pending), std::move(accept_key),
                            deflate);
    return std::nullopt;
  }
  auto session = find(query->sid);
  if (!session) return unknown_sid(query->sid);
  // The session's shard takes the socket: a descriptor moves between loops, a socket object
  // cannot.
  boost::system::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return engineio_error(3, "the connection is gone");
  const int fd = socket.release(ec);
  if (ec) return engineio_error(3, "cannot take the connection");
  net::post(session->executor(), [session, fd, protocol, pending = std::move(pending),
                                  accept_key = std::move(accept_key), deflate]() mutable {
    ShardSocket moved(session->io());
    boost::system::error_code ec;
    moved.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      return;
    }
    session->upgrade_websocket(std::move(moved), std::move(pending), std::move(accept_key),
                               deflate);
  });
  return std::nullopt;
}

}  // namespace realtime
