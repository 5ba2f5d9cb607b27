// libFuzzer target: REALTIME_REDIS_URL (redis, rediss, unix, the sentinel and cluster schemes).
// Checks the accepted endpoint's fields, that display() (what logs print) and the refusals'
// messages never show the password, and that an endpoint with a plain host or path parses back from
// its display() to itself.
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "config/config.hpp"
#include "fuzz_support.hpp"
#include "redis/redis_endpoint.hpp"

using namespace realtime;

namespace {

// The variable every refusal names first.
constexpr std::string_view variable = "REALTIME_REDIS_URL";

std::size_t occurrences(std::string_view text, std::string_view part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The password a URL spells out literally (as userinfo or ?password=), when it can be told.
std::string literal_password(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    // Not a URL, but maybe someone's attempt at one: scheme://user:PASSWORD@host. Its user info
    // ends before the first '/', '?' or '#' (RFC 3986, and parse_redis_url's host lists): an '@'
    // after them is a master name's or a query's, and a password there was never one.
    const auto scheme = text.find("://");
    if (scheme == std::string_view::npos) return {};
    const std::string_view authority =
        text.substr(scheme + 3, text.find_first_of("/?#", scheme + 3) - scheme - 3);
    const auto at = authority.rfind('@');
    const auto colon = authority.find(':');
    if (at == std::string_view::npos || colon == std::string_view::npos || colon > at) return {};
    return std::string(authority.substr(colon + 1, at - colon - 1));
  }
  std::string password = parsed->has_password() ? std::string(parsed->password()) : "";
  if (parsed->encoded_query().empty()) return password;  // Boost.URL 1.81 and "?#": see the parser
  for (auto param : parsed->params()) {
    if (param.key == "password") password = param.value;
  }
  return password;
}

// `text` with fixed strings cut out: the fuzzer learns the fixed text of the refusals (the
// variable's name, "is not a URL: expected redis://[user:pass@]host:port/db…") and of display()
// ("unix://") and offers it as a password. Cut to a '\n', not joined, or the cut would spell new
// text.
std::string without(std::string_view text, std::initializer_list<std::string_view> fixed) {
  std::string out(text);
  for (std::string_view f : fixed) {
    for (auto at = out.find(f); at != std::string::npos; at = out.find(f)) {
      out.replace(at, f.size(), "\n");
    }
  }
  return out;
}

std::string without_fixed_text(std::string_view message) {
  return without(
      message,
      {variable,
       " is not a URL: expected redis://[user:pass@]host:port/db, rediss://…, "
       "redis+sentinel://…, redis+cluster://… or unix:///path",
       ": entry ", " of the host list is not a sentinel", " of the host list is not a cluster node",
       ": expected host[:port] separated by commas", ": Redis Cluster has database 0 only",
       "+cluster://host:port,host:port", " names no master: expected ",
       "+sentinel://host:26379,…/master-name", " is not a URL after its host list",
       " has no host: expected ", "://host:port", ": port must be 1-65535", ": database \"",
       "\" is invalid: expected a number in [0, 15]",
       " has no socket path: expected unix:///path/to/redis.sock",
       ": scheme must be redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster, "
       "rediss+cluster or unix",
       ": ssl_cert_reqs must be none or required"});
}

bool plain(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || extra.find(c) != std::string_view::npos;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  // Only a password whose text appears once (no escapes) can be looked for.
  const std::string password = literal_password(text);
  // (Not one holding the mask's '*': the user's last bytes, ':' and **** could spell it.)
  const bool findable = password.size() >= 6 && text.find('%') == std::string_view::npos &&
                        occurrences(text, password) == 1 &&
                        password.find_first_of("*\n") == std::string::npos;
  RedisEndpoint ep;
  try {
    ep = parse_redis_url(variable, text);
  } catch (const ConfigError& e) {
    const std::string_view message = e.what();
    FUZZ_CHECK(message.starts_with(variable));
    if (findable) FUZZ_CHECK(without_fixed_text(message).find(password) == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(ep.db >= 0 && ep.db <= 15);
  // The port is the one the URL names (a unix socket has none: parse_redis_url ignores the host
  // and port of a unix:// URL).
  if (auto url = boost::urls::parse_uri(text);
      url && url->has_port() && !url->port().empty() && !ep.uses_sentinel() && !ep.uses_cluster() &&
      ep.transport != RedisEndpoint::Transport::unix_socket) {
    const std::string_view digits = url->port();
    std::uint64_t named = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), named);
    FUZZ_CHECK(ec == std::errc() && named == ep.port);
  }
  const std::string shown = ep.display();
  if (findable) {
    const std::string parts =
        without(shown, {"unix://", "rediss+sentinel://", "redis+sentinel://", "rediss+cluster://",
                        "redis+cluster://", "rediss://", "redis://", "?db="});
    FUZZ_CHECK(parts.find(password) == std::string::npos);
  }
  if (ep.uses_sentinel()) {
    FUZZ_CHECK(!ep.master_name.empty() && ep.transport != RedisEndpoint::Transport::unix_socket);
    for (const RedisAddress& sentinel : ep.sentinels) {
      FUZZ_CHECK(!sentinel.host.empty() && sentinel.port != 0);
    }
  } else if (ep.uses_cluster()) {
    FUZZ_CHECK(ep.db == 0 && ep.transport != RedisEndpoint::Transport::unix_socket);
    for (const RedisAddress& node : ep.cluster_nodes) {
      FUZZ_CHECK(!node.host.empty() && node.port != 0);
    }
  } else if (ep.transport == RedisEndpoint::Transport::unix_socket) {
    FUZZ_CHECK(!ep.path.empty() && ep.path.front() == '/');
  } else {
    FUZZ_CHECK(!ep.host.empty() && ep.port != 0);
  }

  // display() is a URL again when there is nothing to mask or escape.
  const auto plain_host = [](const RedisAddress& a) { return plain(a.host, ""); };
  const bool plain_sentinels =
      std::all_of(ep.sentinels.begin(), ep.sentinels.end(), plain_host) &&
      std::all_of(ep.cluster_nodes.begin(), ep.cluster_nodes.end(), plain_host) &&
      plain(ep.master_name, "_");
  if (!ep.password.empty() || !ep.username.empty() || !plain(ep.host, "") ||
      !plain(ep.path, "/_") || !plain_sentinels) {
    return 0;
  }
  const RedisEndpoint back = parse_redis_url("display", shown);
  FUZZ_CHECK(back.transport == ep.transport && back.host == ep.host && back.port == ep.port);
  FUZZ_CHECK(back.path == ep.path && back.db == ep.db);
  FUZZ_CHECK(back.sentinels == ep.sentinels && back.master_name == ep.master_name);
  FUZZ_CHECK(back.cluster_nodes == ep.cluster_nodes);
  return 0;
}
