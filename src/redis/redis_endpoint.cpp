#include "redis/redis_endpoint.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>

#include "config/config.hpp"
#include "util/url_mask.hpp"

namespace realtime {
namespace {

int parse_db(std::string_view name, std::string_view text) {
  int db = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), db);
  if (ec != std::errc{} || ptr != text.data() + text.size() || db < 0 || db > 15) {
    throw ConfigError(std::string(name) + ": database \"" + std::string(text) +
                      "\" is invalid: expected a number in [0, 15]");
  }
  return db;
}

}  // namespace

std::string RedisEndpoint::display() const {
  std::string out;
  const std::string auth =
      password.empty() ? std::string() : (username.empty() ? ":****@" : username + ":****@");
  switch (transport) {
    case Transport::unix_socket:
      out = "unix://" + path;
      break;
    case Transport::tls:
      out = "rediss://" + auth + host + ":" + std::to_string(port);
      break;
    case Transport::tcp:
      out = "redis://" + auth + host + ":" + std::to_string(port);
      break;
  }
  if (db != 0) out += (transport == Transport::unix_socket ? "?db=" : "/") + std::to_string(db);
  return out;
}

RedisEndpoint parse_redis_url(std::string_view name, std::string_view text) {
  // Error messages name the URL, never its password: they go to logs.
  const std::string where = std::string(name) + "=\"" + mask_url_password(text) + "\"";
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    // Not quoted: where its password is in text that is not a URL, nobody can tell.
    throw ConfigError(std::string(name) +
                      " is not a URL: expected redis://[user:pass@]host:port/db, rediss://… or "
                      "unix:///path");
  }
  const boost::urls::url_view url = *parsed;
  RedisEndpoint ep;
  const std::string scheme = url.scheme();
  if (scheme == "redis" || scheme == "rediss") {
    ep.transport =
        scheme == "rediss" ? RedisEndpoint::Transport::tls : RedisEndpoint::Transport::tcp;
    if (!url.has_authority() || url.host().empty()) {
      throw ConfigError(where + " has no host: expected " + scheme + "://host:port");
    }
    ep.host = url.host_address();  // IPv6 without brackets: what the resolver wants
    if (url.has_port()) {
      // Not url.port_number(): Boost 1.81 wraps it modulo 65536 (99999 became 34463).
      const std::string_view digits = url.port();
      unsigned port = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
          port == 0 || port > 65535) {
        throw ConfigError(where + ": port must be 1-65535");
      }
      ep.port = static_cast<std::uint16_t>(port);
    }
    std::string path = url.path();
    if (!path.empty() && path != "/") ep.db = parse_db(name, std::string_view(path).substr(1));
  } else if (scheme == "unix") {
    ep.transport = RedisEndpoint::Transport::unix_socket;
    ep.path = url.path();
    if (ep.path.empty() || ep.path.front() != '/') {
      throw ConfigError(where + " has no socket path: expected unix:///path/to/redis.sock");
    }
  } else {
    throw ConfigError(where + ": scheme must be redis, rediss or unix");
  }
  if (url.has_userinfo()) {
    ep.username = url.user();
    ep.password = url.password();  // redis://:pass@host: the default user
  }
  // Boost.URL 1.81 reads past the end of an empty query followed by a fragment ("?#") when
  // iterating its parameters (boostorg/url#864); an empty query has none anyway.
  if (url.encoded_query().empty()) return ep;
  for (auto param : url.params()) {
    if (param.key == "db") {
      ep.db = parse_db(name, param.value);
    } else if (param.key == "password") {
      ep.password = param.value;
    } else if (param.key == "user" || param.key == "username") {
      ep.username = param.value;
    } else if (param.key == "ssl_ca_certs") {
      ep.tls_ca_file = param.value;
    } else if (param.key == "ssl_cert_reqs") {
      if (param.value != "none" && param.value != "required") {
        throw ConfigError(where + ": ssl_cert_reqs must be none or required");
      }
      ep.tls_verify = param.value == "required";
    }
  }
  return ep;
}

}  // namespace realtime
