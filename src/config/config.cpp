#include "config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace realtime {
namespace {

// One configurable setting: its env var(s) (first is canonical, others are fallbacks), its flag,
// and how to apply a value. Keeping them in one table means --help, env and flags never disagree.
struct Setting {
  std::vector<std::string> env;
  std::string flag;
  std::string help;
  std::function<void(Config&, const std::string& name, const std::string& value)> apply;
};

long long parse_integer(const std::string& name, const std::string& value, long long min,
                        long long max) {
  long long out = 0;
  const char* first = value.data();
  const char* last = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec != std::errc{} || ptr != last || out < min || out > max) {
    throw ConfigError(name + "=\"" + value + "\" is invalid: expected an integer in [" +
                      std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return out;
}

template <typename T>
auto integer_setting(T Config::*field, long long min, long long max) {
  return [field, min, max](Config& c, const std::string& name, const std::string& value) {
    c.*field = static_cast<T>(parse_integer(name, value, min, max));
  };
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(value);
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      {{"REALTIME_PORT", "PORT"},
       "--port",
       "listen port (0 = any free port) [3109]",
       integer_setting(&Config::port, 0, 65535)},
      {{"REALTIME_HOST"},
       "--host",
       "listen address [0.0.0.0]",
       [](Config& c, const std::string& name, const std::string& v) {
         unsigned char addr[sizeof(in6_addr)];
         if (inet_pton(AF_INET, v.c_str(), addr) != 1 &&
             inet_pton(AF_INET6, v.c_str(), addr) != 1) {
           throw ConfigError(
               name + "=\"" + v +
               "\" is invalid: expected an IPv4 or IPv6 address such as 0.0.0.0 or ::");
         }
         c.host = v;
       }},
      {{"REALTIME_CORS_ORIGIN"},
       "--cors-origin",
       "comma list of allowed browser origins, or * (required unless --dev)",
       [](Config& c, const std::string& name, const std::string& v) {
         c.cors_origins = split_list(v);
         if (c.cors_origins.empty()) {
           throw ConfigError(name + " is empty: expected a comma list of origins or *");
         }
       }},
      {{"REALTIME_HEARTBEAT_SECONDS"},
       "--heartbeat-seconds",
       "clients must send a frame this often; silent 2x = closed 4009 [30]",
       integer_setting(&Config::heartbeat_seconds, 1, 3600)},
      {{"REALTIME_PRESENCE_WINDOW_MS"},
       "--presence-window-ms",
       "a topic's presence changes within this long of its last event go out as one diff; 0 = "
       "every change its own event [150]",
       integer_setting(&Config::presence_window_ms, 0, 10000)},
      {{"REALTIME_TYPING_TIMEOUT_SECONDS"},
       "--typing-timeout-seconds",
       "a typing start not refreshed this long becomes an automatic stop [5]",
       integer_setting(&Config::typing_timeout_seconds, 1, 300)},
      {{"REALTIME_MAX_CONNECTIONS"},
       "--max-connections",
       "WebSocket connections per node; above = HTTP 503 [10000]",
       integer_setting(&Config::max_connections, 1, 1000000)},
      {{"REALTIME_THREADS"},
       "--threads",
       "shards (threads with their own event loop) [cores, at most 256]",
       integer_setting(&Config::threads, 1, 256)},
      {{"REALTIME_MAX_MESSAGE_BYTES"},
       "--max-message-bytes",
       "largest client frame (else close 1009) and published message (else 413) [65536]",
       integer_setting(&Config::max_message_bytes, 256, 16 * 1024 * 1024)},
      {{"REALTIME_MAX_QUEUE_BYTES"},
       "--max-queue-bytes",
       "unsent bytes per connection; above = close 4008 [1048576]",
       integer_setting(&Config::max_queue_bytes, 4096, 1024LL * 1024 * 1024)},
      {{"REALTIME_COMPRESSION"},
       "--compression",
       "permessage-deflate for WebSocket clients that offer it: on|off [on]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (v == "on" || v == "true" || v == "1") {
           c.compression = true;
         } else if (v == "off" || v == "false" || v == "0") {
           c.compression = false;
         } else {
           throw ConfigError(name + "=\"" + v + "\" is invalid: expected on or off");
         }
       }},
      {{"REALTIME_COMPRESSION_MIN_BYTES"},
       "--compression-min-bytes",
       "events with a smaller payload go uncompressed even to clients that negotiated "
       "permessage-deflate [256]",
       integer_setting(&Config::compression_min_bytes, 0, 16 * 1024 * 1024)},
      {{"REALTIME_MAX_SUBSCRIPTIONS"},
       "--max-subscriptions",
       "topics per connection; above = error too_many_subscriptions [1000]",
       integer_setting(&Config::max_subscriptions, 1, 1000000)},
      {{"REALTIME_HISTORY_SIZE"},
       "--history-size",
       "events each topic keeps for recovery unless its rule says otherwise; 0 = none [0]",
       [](Config& c, const std::string& name, const std::string& v) {
         c.history.size = static_cast<std::size_t>(parse_integer(name, v, 0, max_history_size));
       }},
      {{"REALTIME_HISTORY_TTL_SECONDS"},
       "--history-ttl-seconds",
       "age of the oldest event a topic's history keeps [300]",
       [](Config& c, const std::string& name, const std::string& v) {
         c.history.ttl = std::chrono::seconds(
             parse_integer(name, v, 1, static_cast<long long>(max_history_ttl_seconds)));
       }},
      {{"REALTIME_HISTORY_MAX_BYTES"},
       "--history-max-bytes",
       "embedded engine: bytes of stored events per topic [1048576]",
       [](Config& c, const std::string& name, const std::string& v) {
         c.history.max_bytes = static_cast<std::size_t>(
             parse_integer(name, v, min_history_bytes, static_cast<long long>(max_history_bytes)));
       }},
      {{"REALTIME_CLIENT_RATE_LIMIT"},
       "--client-rate-limit",
       "frames per second a connection may send (bursts of 10x); above = error rate_limited [100]",
       integer_setting(&Config::client_rate_limit, 1, 1000000)},
      {{"REALTIME_MAX_BODY_BYTES"},
       "--max-body-bytes",
       "largest HTTP request body [1048576]",
       integer_setting(&Config::max_body_bytes, 1024, 64LL * 1024 * 1024)},
      {{"REALTIME_API_KEY", "PLUGIN_INTERNAL_SECRET"},
       "--api-key",
       "key for the server-side endpoints (required unless --dev)",
       [](Config& c, const std::string&, const std::string& v) { c.api_key = v; }},
      {{"REALTIME_LOG_LEVEL"},
       "--log-level",
       "trace|debug|info|warn|error|critical|off [info]",
       [](Config& c, const std::string& name, const std::string& v) {
         static const char* levels[] = {"trace", "debug",    "info", "warn",
                                        "error", "critical", "off"};
         for (const char* l : levels) {
           if (v == l) {
             c.log_level = v;
             return;
           }
         }
         throw ConfigError(name + "=\"" + v +
                           "\" is invalid: expected one of trace, debug, info, warn, error, "
                           "critical, off");
       }},
      {{"REALTIME_LOG_FORMAT"},
       "--log-format",
       "text|json [text]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (v == "text") {
           c.log_format = LogFormat::text;
         } else if (v == "json") {
           c.log_format = LogFormat::json;
         } else {
           throw ConfigError(name + "=\"" + v + "\" is invalid: expected text or json");
         }
       }},
      {{"HASURA_GRAPHQL_JWT_SECRET"},
       "--jwt-secret",
       "Hasura's JWT config (JSON with type, key, ...) or an HS256 secret (required unless --dev)",
       [](Config& c, const std::string&, const std::string& v) {
         c.hasura_jwt = parse_hasura_jwt_secret(v);
       }},
      {{"REALTIME_JWKS_CA_FILE"},
       "--jwks-ca-file",
       "PEM file of the CAs that jwk_url's certificate must chain to [the system's CAs]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (!std::ifstream(v)) throw ConfigError(name + "=\"" + v + "\": cannot read the file");
         c.jwks_ca_file = v;
       }},
      {{"REALTIME_JWKS_STARTUP_WAIT_SECONDS"},
       "--jwks-startup-wait-seconds",
       "jwk_url: how long start-up retries the first key set fetch before exit 2 [30]",
       integer_setting(&Config::jwks_startup_wait_seconds, 0, 600)},
      {{"HASURA_GRAPHQL_ADMIN_SECRET"},
       "--admin-secret",
       "X-Hasura-Admin-Secret value that may read any topic's presence",
       [](Config& c, const std::string&, const std::string& v) { c.hasura_admin_secret = v; }},
      {{"HASURA_GRAPHQL_ENDPOINT"},
       "--hasura-endpoint",
       "Hasura's GraphQL URL (http[s]://.../v1/graphql), asked by \"hasura\" checks of the rules",
       [](Config& c, const std::string& name, const std::string& v) {
         if (!v.starts_with("http://") && !v.starts_with("https://")) {
           throw ConfigError(name + "=\"" + v +
                             "\" is invalid: expected an http:// or https:// URL");
         }
         c.hasura_endpoint = v;
       }},
      {{"REALTIME_CHECK_CACHE_SIZE"},
       "--check-cache-size",
       "decisions of checks kept (user, role, topic, action), least recently used dropped "
       "[100000]",
       integer_setting(&Config::check_cache_size, 0, 10000000)},
      {{"REALTIME_CHECK_DB_CONNECTIONS"},
       "--check-db-connections",
       "database connections (and threads) that run \"sql\" checks [2]",
       integer_setting(&Config::check_db_connections, 1, 64)},
      {{"REALTIME_TOKEN_SECRET"},
       "--token-secret",
       "HS256 secret of connection tokens, the same on every node [random per process]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (v.size() < 32) {
           throw ConfigError(name + " is too short: expected at least 32 bytes of secret");
         }
         c.token_secret = v;
       }},
      {{"REALTIME_TOKEN_TTL_SECONDS"},
       "--token-ttl-seconds",
       "lifetime of a connection token [60]",
       integer_setting(&Config::token_ttl_seconds, 5, 3600)},
      {{"REALTIME_RULES_FILE"},
       "--rules-file",
       "JSON topic access rules [built-in rules]",
       [](Config& c, const std::string& name, const std::string& v) {
         std::ifstream in(v);
         if (!in) throw ConfigError(name + "=\"" + v + "\": cannot read the file");
         std::stringstream text;
         text << in.rdbuf();
         c.rules = AccessRules::parse(text.str(), name + "=" + v);
         c.rules_file = v;
       }},
      {{"REALTIME_REDIS_URL", "REDIS_URL"},
       "--redis-url",
       "redis://[user:pass@]host:port/db, rediss:// (TLS) or unix:///path: the clustered engine "
       "[unset: embedded engine; also REDIS_HOST + REDIS_PORT + REDIS_PASSWORD]",
       [](Config& c, const std::string& name, const std::string& v) {
         c.redis = parse_redis_url(name, v);
       }},
      {{"REALTIME_REDIS_PREFIX"},
       "--redis-prefix",
       "prefix of every Redis key and channel [realtime:]",
       [](Config& c, const std::string& name, const std::string& v) {
         // Braces would be Redis Cluster hash tags and put every key in one slot.
         if (v.empty() || v.size() > 64 || v.find_first_of(" \t\r\n{}") != std::string::npos) {
           throw ConfigError(name + "=\"" + v +
                             "\" is invalid: expected 1-64 bytes without spaces or braces");
         }
         c.redis_prefix = v;
       }},
      {{"DATABASE_URL"},
       "--database-url",
       "last-seen database: postgres://..., sqlite:PATH or none [sqlite:./realtime.db]",
       [](Config& c, const std::string& name, const std::string& v) {
         try {
           c.database = storage::parse_database_url(v);
         } catch (const std::invalid_argument& e) {
           // The value may hold a password: show it masked.
           const storage::DatabaseUrl shown{storage::DatabaseKind::postgres, v, false};
           throw ConfigError(name + "=\"" + shown.describe() + "\" is invalid: " + e.what());
         }
       }},
      {{"REALTIME_SOURCE_ACCOUNT_ID"},
       "--source-account-id",
       "source_account_id of this app's last-seen rows (1-128 bytes) [primary]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (v.empty() || v.size() > 128 || v.find('\0') != std::string::npos) {
           throw ConfigError(name + "=\"" + v + "\" is invalid: expected 1-128 bytes");
         }
         c.source_account_id = v;
       }},
      {{"REALTIME_PRESENCE_PENDING_MAX"},
       "--presence-pending-max",
       "users whose last-seen row may wait for the database; beyond, the oldest is dropped "
       "[100000]",
       integer_setting(&Config::presence_pending_max, 1, 10000000)},
      {{"REALTIME_SOCKETIO_PATH"},
       "--socketio-path",
       "path of the Socket.IO gateway (Engine.IO 4 / Socket.IO 5), or off [/socket.io/]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (v == "off") {
           c.socketio_path.clear();
           return;
         }
         if (v.size() < 2 || v.front() != '/' || v.find_first_of("?#% \t") != std::string::npos ||
             v.starts_with("/realtime/")) {
           throw ConfigError(name + "=\"" + v +
                             "\" is invalid: expected a path such as /socket.io/ (not under "
                             "/realtime/), or off");
         }
         c.socketio_path = v;
       }},
      {{"REALTIME_SOCKETIO_NCHAT"},
       "--socketio-nchat",
       "nchat's Socket.IO event names (channel:join, typing:start, presence:update, ...): on|off "
       "[on]",
       [](Config& c, const std::string& name, const std::string& v) {
         if (v == "on" || v == "true" || v == "1") {
           c.socketio_nchat = true;
         } else if (v == "off" || v == "false" || v == "0") {
           c.socketio_nchat = false;
         } else {
           throw ConfigError(name + "=\"" + v + "\" is invalid: expected on or off");
         }
       }},
      {{"REALTIME_STATIC_DIR"},
       "--static-dir",
       "directory served at / (the demo page)",
       [](Config& c, const std::string&, const std::string& v) { c.static_dir = v; }},
  };
  return table;
}

std::string mask(const std::string& secret) {
  if (secret.empty()) return "(unset)";
  return "****** (" + std::to_string(secret.size()) + " chars)";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

}  // namespace

bool Config::any_origin() const {
  for (const auto& o : cors_origins) {
    if (o == "*") return true;
  }
  return false;
}

bool Config::origin_allowed(std::string_view origin) const {
  if (dev || any_origin()) return true;
  for (const auto& o : cors_origins) {
    if (o == origin) return true;
  }
  return false;
}

std::string Config::describe() const {
  std::ostringstream out;
  out << "REALTIME_HOST=" << host << '\n'
      << "REALTIME_PORT=" << port << '\n'
      << "REALTIME_CORS_ORIGIN=" << (cors_origins.empty() ? "(unset)" : join(cors_origins)) << '\n'
      << "REALTIME_HEARTBEAT_SECONDS=" << heartbeat_seconds << '\n'
      << "REALTIME_PRESENCE_WINDOW_MS=" << presence_window_ms << '\n'
      << "REALTIME_TYPING_TIMEOUT_SECONDS=" << typing_timeout_seconds << '\n'
      << "REALTIME_MAX_CONNECTIONS=" << max_connections << '\n'
      << "REALTIME_THREADS=" << threads << '\n'
      << "REALTIME_MAX_MESSAGE_BYTES=" << max_message_bytes << '\n'
      << "REALTIME_MAX_QUEUE_BYTES=" << max_queue_bytes << '\n'
      << "REALTIME_COMPRESSION=" << (compression ? "on" : "off") << '\n'
      << "REALTIME_COMPRESSION_MIN_BYTES=" << compression_min_bytes << '\n'
      << "REALTIME_MAX_SUBSCRIPTIONS=" << max_subscriptions << '\n'
      << "REALTIME_HISTORY_SIZE=" << history.size << '\n'
      << "REALTIME_HISTORY_TTL_SECONDS=" << history.ttl.count() << '\n'
      << "REALTIME_HISTORY_MAX_BYTES=" << history.max_bytes << '\n'
      << "REALTIME_CLIENT_RATE_LIMIT=" << client_rate_limit << '\n'
      << "REALTIME_MAX_BODY_BYTES=" << max_body_bytes << '\n'
      << "REALTIME_API_KEY=" << mask(api_key) << '\n'
      << "REALTIME_LOG_LEVEL=" << log_level << '\n'
      << "REALTIME_LOG_FORMAT=" << (log_format == LogFormat::json ? "json" : "text") << '\n'
      << "REALTIME_REDIS_URL="
      << (redis ? redis->display() : std::string("(unset: embedded engine)")) << '\n'
      << "REALTIME_REDIS_PREFIX=" << redis_prefix << '\n'
      << "REALTIME_STATIC_DIR=" << (static_dir.empty() ? "(built-in)" : static_dir) << '\n'
      << "REALTIME_SOCKETIO_PATH=" << (socketio_path.empty() ? "off" : socketio_path) << '\n'
      << "REALTIME_SOCKETIO_NCHAT=" << (socketio_nchat ? "on" : "off") << '\n'
      << "HASURA_GRAPHQL_JWT_SECRET="
      << (!hasura_jwt ? std::string("(unset)")
          : hasura_jwt->jwk_url.empty()
              ? std::string(to_string(hasura_jwt->algorithm)) + " key " + mask(hasura_jwt->key)
              : "jwk_url " + hasura_jwt->jwk_url.substr(0, hasura_jwt->jwk_url.find('?')))
      << '\n'
      << "REALTIME_JWKS_CA_FILE=" << (jwks_ca_file.empty() ? "(system CAs)" : jwks_ca_file) << '\n'
      << "REALTIME_JWKS_STARTUP_WAIT_SECONDS=" << jwks_startup_wait_seconds << '\n'
      << "HASURA_GRAPHQL_ADMIN_SECRET=" << mask(hasura_admin_secret) << '\n'
      << "HASURA_GRAPHQL_ENDPOINT=" << (hasura_endpoint.empty() ? "(unset)" : hasura_endpoint)
      << '\n'
      << "REALTIME_CHECK_CACHE_SIZE=" << check_cache_size << '\n'
      << "REALTIME_CHECK_DB_CONNECTIONS=" << check_db_connections << '\n'
      << "REALTIME_TOKEN_SECRET="
      << (token_secret.empty() ? std::string("(random per process)") : mask(token_secret)) << '\n'
      << "REALTIME_TOKEN_TTL_SECONDS=" << token_ttl_seconds << '\n'
      << "REALTIME_RULES_FILE=" << (rules_file.empty() ? "(built-in rules)" : rules_file) << " ("
      << rules.rules().size() << " rules, " << rules.checks().size() << " checks)\n"
      << "DATABASE_URL=" << database.describe() << '\n'
      << "REALTIME_SOURCE_ACCOUNT_ID=" << source_account_id << '\n'
      << "REALTIME_PRESENCE_PENDING_MAX=" << presence_pending_max << '\n'
      << "dev=" << (dev ? "true" : "false") << '\n';
  return out.str();
}

void validate_checks(const Config& c) {
  const std::string source = c.rules_file.empty() ? "built-in rules" : c.rules_file;
  for (const auto& check : c.rules.checks()) {
    const std::string what = source + ": check \"" + check.name + "\"";
    switch (check.kind) {
      case CheckSpec::Kind::hasura:
        if (c.hasura_endpoint.empty()) {
          throw ConfigError(what + " asks Hasura: set HASURA_GRAPHQL_ENDPOINT");
        }
        if (c.hasura_admin_secret.empty()) {
          throw ConfigError(what +
                            " asks Hasura as the caller's role: set HASURA_GRAPHQL_ADMIN_SECRET");
        }
        break;
      case CheckSpec::Kind::sql:
        if (c.database.kind == storage::DatabaseKind::none) {
          throw ConfigError(what + " runs SQL on DATABASE_URL, which is none");
        }
        break;
      case CheckSpec::Kind::http:
        if (c.api_key.empty() && !c.dev) {
          throw ConfigError(what + " calls a proxy with the server key: set REALTIME_API_KEY");
        }
        break;
    }
  }
}

ParsedCommandLine parse_config(const std::vector<std::string>& args, const EnvLookup& env) {
  ParsedCommandLine out;
  Config& c = out.config;
  // --help and --version must work whatever the environment holds.
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") return {Action::help, {}};
    if (arg == "--version") return {Action::version, {}};
  }

  for (const auto& s : settings()) {
    for (const auto& name : s.env) {
      if (auto v = env(name)) {
        s.apply(c, name, *v);
        break;  // the first variable that is set wins over its fallbacks
      }
    }
  }

  // What the nself CLI injects when it runs Redis for the stack.
  if (!c.redis) {
    if (auto host = env("REDIS_HOST"); host && !host->empty()) {
      RedisEndpoint ep;
      ep.host = *host;
      if (auto port = env("REDIS_PORT"); port && !port->empty()) {
        ep.port = static_cast<std::uint16_t>(parse_integer("REDIS_PORT", *port, 1, 65535));
      }
      if (auto password = env("REDIS_PASSWORD")) ep.password = *password;
      c.redis = ep;
    }
  }

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--dev") {
      c.dev = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      out.action = Action::help;
      continue;
    }
    if (arg == "--version") {
      out.action = Action::version;
      continue;
    }
    if (arg == "--check-config") {
      out.action = Action::check_config;
      continue;
    }
    if (arg == "--migrate") {
      out.action = Action::migrate;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const Setting* match = nullptr;
    for (const auto& s : settings()) {
      if (s.flag == name) match = &s;
    }
    if (match == nullptr) {
      throw ConfigError("unknown argument \"" + arg + "\" (see --help)");
    }
    if (!value) {
      if (i + 1 >= args.size()) throw ConfigError(name + " needs a value (see --help)");
      value = args[++i];
    }
    match->apply(c, name, *value);
  }

  if (c.threads == 0) {
    // One shard per core, at most 256 (the range of REALTIME_THREADS, and the size of the
    // brokers' per-topic shard sets).
    c.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 256u));
  }
  validate_checks(c);
  // --migrate only needs the database settings.
  if (!c.dev && out.action != Action::migrate) {
    if (c.cors_origins.empty()) {
      throw ConfigError(
          "REALTIME_CORS_ORIGIN is required unless --dev: expected a comma list of origins or *");
    }
    if (c.api_key.empty()) {
      throw ConfigError(
          "REALTIME_API_KEY (or PLUGIN_INTERNAL_SECRET) is required unless --dev: expected the key "
          "that server-side callers send");
    }
    if (!c.hasura_jwt) {
      throw ConfigError(
          "HASURA_GRAPHQL_JWT_SECRET is required unless --dev: expected Hasura's JWT config, e.g. "
          "{\"type\":\"HS256\",\"key\":\"<at least 32 bytes>\"}");
    }
  }
  return out;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::string usage_text() {
  std::ostringstream out;
  out << "Usage: nself-realtime [--dev] [--check-config] [--migrate] [--help] [--version] "
         "[--FLAG VALUE ...]\n\n"
         "Self-hosted WebSocket pub/sub server. Every setting is an env var and a flag (flags "
         "win).\n\n"
         "  --dev             development mode: anonymous clients (?user=NAME), any origin,\n"
         "                    server-side endpoints open from loopback when no key is set\n"
         "  --check-config    validate, print the effective configuration (secrets masked), exit\n"
         "  --migrate         create/migrate the last-seen schema of DATABASE_URL, exit\n"
         "  --help, --version\n\n";
  for (const auto& s : settings()) {
    std::string names = s.env.front();
    for (std::size_t i = 1; i < s.env.size(); ++i) names += " (or " + s.env[i] + ")";
    out << "  " << s.flag << " / " << names << "\n      " << s.help << '\n';
  }
  out << "\nExit codes: 0 ok, 1 runtime failure (e.g. port in use), 2 bad configuration.\n";
  return out.str();
}

}  // namespace realtime
