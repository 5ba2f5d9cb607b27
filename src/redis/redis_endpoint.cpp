#include "redis/redis_endpoint.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>
#include <vector>

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
  if (uses_sentinel() || uses_cluster()) {
    out = transport == Transport::tls ? "rediss+" : "redis+";
    out += uses_sentinel() ? "sentinel://" : "cluster://";
    out += auth;
    // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + string&&.
    const auto& hosts = uses_sentinel() ? sentinels : cluster_nodes;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      if (i > 0) out += ',';
      out += hosts[i].display();
    }
    if (uses_cluster()) return out;
    out.append("/").append(master_name);
    if (db != 0) out.append("/").append(std::to_string(db));
    return out;
  }
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

namespace {

std::uint16_t parse_port(const std::string& where, std::string_view digits) {
  const auto port = parse_port_number(digits);
  if (!port) throw ConfigError(where + ": port must be 1-65535");
  return *port;
}

// Credentials from the user info, then the query parameters.
void apply_userinfo_and_query(const std::string& name, const std::string& where,
                              const boost::urls::url_view& url, RedisEndpoint& ep) {
  if (url.has_userinfo()) {
    ep.username = url.user();
    ep.password = url.password();  // redis://:pass@host: the default user
  }
  // Boost.URL 1.81 reads past the end of an empty query followed by a fragment ("?#") when
  // iterating its parameters (boostorg/url#864); an empty query has none anyway.
  if (url.encoded_query().empty()) return;
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
    } else if (param.key == "sentinel_password") {
      ep.sentinel_password = param.value;
    } else if (param.key == "sentinel_user" || param.key == "sentinel_username") {
      ep.sentinel_username = param.value;
    }
  }
}

// "h1[:port],h2…" of a redis+sentinel:// or redis+cluster:// URL; `what` names an entry.
std::vector<RedisAddress> parse_host_list(const std::string& where, std::string_view authority,
                                          std::uint16_t default_port, std::string_view what) {
  std::vector<RedisAddress> hosts;
  for (std::size_t start = 0;;) {
    const std::size_t comma = authority.find(',', start);
    const std::string one(authority.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    const std::string one_url = "redis://" + one;  // outlives the view parsed from it
    auto parsed = boost::urls::parse_uri(one_url);
    if (one.empty() || !parsed || parsed->host().empty() || !parsed->path().empty()) {
      throw ConfigError(where + ": entry " + std::to_string(hosts.size() + 1) +
                        " of the host list is not " + std::string(what) +
                        ": expected host[:port] separated by commas");
    }
    RedisAddress host{parsed->host_address(), default_port};
    if (parsed->has_port()) host.port = parse_port(where, parsed->port());
    hosts.push_back(std::move(host));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return hosts;
}

// redis+sentinel://[userinfo@]s1[:port],s2…/master[/db][?query] and
// redis+cluster://[userinfo@]h1[:port],h2…[/][?query]: several hosts are not a URL authority, so
// the host list is split here and the rest is parsed as the URL of the first.
RedisEndpoint parse_host_list_url(const std::string& name, std::string_view text, bool tls,
                                  bool cluster) {
  const std::string& where = name;
  std::string_view rest = text.substr(text.find("://") + 3);
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  const std::string_view tail = rest.substr(authority_end);
  std::string_view userinfo;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = authority.substr(0, at + 1);
    authority = authority.substr(at + 1);
  }
  RedisEndpoint ep;
  ep.transport = tls ? RedisEndpoint::Transport::tls : RedisEndpoint::Transport::tcp;
  std::vector<RedisAddress>& hosts = cluster ? ep.cluster_nodes : ep.sentinels;
  hosts = parse_host_list(where, authority, cluster ? 6379 : 26379,
                          cluster ? "a cluster node" : "a sentinel");
  const std::string url_text =
      "redis://" + std::string(userinfo) + hosts.front().display() + std::string(tail);
  auto parsed = boost::urls::parse_uri(url_text);
  if (!parsed) throw ConfigError(where + " is not a URL after its host list");
  const std::string path = parsed->path();  // sentinel: /master or /master/db
  std::string_view segments = std::string_view(path).substr(path.empty() ? 0 : 1);
  if (cluster) {
    if (!segments.empty()) {
      throw ConfigError(where + ": Redis Cluster has database 0 only: expected " +
                        (tls ? "rediss" : "redis") + "+cluster://host:port,host:port");
    }
  } else {
    const std::size_t slash = segments.find('/');
    ep.master_name = std::string(segments.substr(0, slash));
    if (ep.master_name.empty()) {
      throw ConfigError(where + " names no master: expected " + (tls ? "rediss" : "redis") +
                        "+sentinel://host:26379,…/master-name");
    }
    if (slash != std::string_view::npos) ep.db = parse_db(name, segments.substr(slash + 1));
  }
  apply_userinfo_and_query(name, where, *parsed, ep);
  if (cluster && ep.db != 0) {
    throw ConfigError(where + ": Redis Cluster has database 0 only");
  }
  ep.host.clear();
  ep.port = 0;
  return ep;
}

}  // namespace

std::string RedisAddress::display() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  return out.append(":").append(std::to_string(port));
}

RedisEndpoint RedisEndpoint::sentinel_endpoint(const RedisAddress& sentinel) const {
  RedisEndpoint ep;
  ep.transport = transport;
  ep.host = sentinel.host;
  ep.port = sentinel.port;
  ep.username = sentinel_username;
  ep.password = sentinel_password;
  ep.tls_verify = tls_verify;
  ep.tls_ca_file = tls_ca_file;
  return ep;
}

std::optional<std::uint16_t> parse_port_number(std::string_view digits) {
  // Not Boost.URL's port_number(): 1.81 wraps it modulo 65536 (99999 became 34463).
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(port);
}

std::optional<SwitchMaster> parse_switch_master(std::string_view payload) {
  std::vector<std::string_view> words;
  for (std::size_t start = 0; start <= payload.size() && words.size() <= 5;) {
    const std::size_t space = std::min(payload.find(' ', start), payload.size());
    words.push_back(payload.substr(start, space - start));
    start = space + 1;
  }
  if (words.size() != 5 || words[0].empty() || words[3].empty()) return std::nullopt;
  const auto port = parse_port_number(words[4]);
  if (!port) return std::nullopt;
  return SwitchMaster{std::string(words[0]), RedisAddress{std::string(words[3]), *port}};
}

RedisEndpoint parse_redis_url(std::string_view name_view, std::string_view text) {
  const std::string name(name_view);
  // Error messages name the URL, never its password: they go to logs.
  const std::string where = name + "=\"" + mask_url_password(text) + "\"";
  const bool sentinel =
      text.starts_with("redis+sentinel://") || text.starts_with("rediss+sentinel://");
  if (sentinel || text.starts_with("redis+cluster://") || text.starts_with("rediss+cluster://")) {
    // Not quoted: where a host list ends is a guess when a password holds '/' or ',' unescaped,
    // so no reading of it can be masked for sure (found by redis_url_fuzz).
    return parse_host_list_url(name, text, text.starts_with("rediss"), !sentinel);
  }
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    // Not quoted: where its password is in text that is not a URL, nobody can tell.
    throw ConfigError(name +
                      " is not a URL: expected redis://[user:pass@]host:port/db, rediss://…, "
                      "redis+sentinel://…, redis+cluster://… or unix:///path");
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
    if (url.has_port()) ep.port = parse_port(where, url.port());
    std::string path = url.path();
    if (!path.empty() && path != "/") ep.db = parse_db(name, std::string_view(path).substr(1));
  } else if (scheme == "unix") {
    ep.transport = RedisEndpoint::Transport::unix_socket;
    ep.path = url.path();
    if (ep.path.empty() || ep.path.front() != '/') {
      throw ConfigError(where + " has no socket path: expected unix:///path/to/redis.sock");
    }
  } else {
    throw ConfigError(where +
                      ": scheme must be redis, rediss, redis+sentinel, rediss+sentinel, "
                      "redis+cluster, rediss+cluster or unix");
  }
  apply_userinfo_and_query(name, where, url, ep);
  return ep;
}

}  // namespace realtime
