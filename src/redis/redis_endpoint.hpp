#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace realtime {

// Where Redis is and how to log in: from redis://, rediss:// (TLS) or unix:// URLs.
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

  // The URL with the password masked, for logs.
  std::string display() const;
  bool operator==(const RedisEndpoint&) const = default;
};

// `redis://[user:pass@]host[:port][/db]`, `rediss://…` or `unix:///path[?db=N]` (also with
// `password=` / `user=` query parameters). Throws ConfigError naming `name` and what is wrong.
RedisEndpoint parse_redis_url(std::string_view name, std::string_view url);

}  // namespace realtime
