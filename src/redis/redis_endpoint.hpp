#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace realtime {

struct RedisAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string display() const;  // host:port, IPv6 in brackets
  bool operator==(const RedisAddress&) const = default;
};

// Where Redis is and how to log in: from redis://, rediss:// (TLS), unix://, redis+sentinel://
// or redis+cluster:// URLs.
struct RedisEndpoint {
  enum class Transport { tcp, tls, unix_socket };
  Transport transport = Transport::tcp;
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string path;  // unix socket
  std::string username;
  std::string password;
  int db = 0;
  // rediss: check the server's certificate and name (?ssl_cert_reqs=none: don't), against the
  // system's CAs or the PEM file of ?ssl_ca_certs=.
  bool tls_verify = true;
  std::string tls_ca_file;
  // redis+sentinel://: the master named `master_name` is wherever these sentinels say it is
  // (host and port above are unused); they may have their own password.
  std::vector<RedisAddress> sentinels;
  std::string master_name;
  std::string sentinel_username;
  std::string sentinel_password;

  // redis+cluster://: the seed nodes a Redis Cluster's slot map is first asked from (host and
  // port above are unused; every master takes the same login and TLS settings).
  std::vector<RedisAddress> cluster_nodes;

  bool uses_sentinel() const { return !sentinels.empty(); }
  bool uses_cluster() const { return !cluster_nodes.empty(); }
  // The endpoint of one sentinel: same transport, the sentinels' credentials, no database.
  RedisEndpoint sentinel_endpoint(const RedisAddress& sentinel) const;
  // The URL with the password masked, for logs.
  std::string display() const;
  bool operator==(const RedisEndpoint&) const = default;
};

// `redis://[user:pass@]host[:port][/db]`, `rediss://…`, `unix:///path[?db=N]` (also with
// `password=` / `user=` query parameters) or
// `redis+sentinel://[user:pass@]s1[:26379],s2…/master[/db][?sentinel_password=…]` (and
// `rediss+sentinel://`) or `redis+cluster://[user:pass@]h1[:6379],h2…` (and `rediss+cluster://`).
// Throws ConfigError naming `name` and what is wrong.
RedisEndpoint parse_redis_url(std::string_view name, std::string_view url);

// A port as decimal digits, the whole text, 1-65535 (from URLs, sentinels and redirects).
std::optional<std::uint16_t> parse_port_number(std::string_view digits);

// A sentinel's "+switch-master" message: "<master-name> <old-ip> <old-port> <new-ip>
// <new-port>". nullopt when it is not one.
struct SwitchMaster {
  std::string name;
  RedisAddress to;
};
std::optional<SwitchMaster> parse_switch_master(std::string_view payload);

}  // namespace realtime
