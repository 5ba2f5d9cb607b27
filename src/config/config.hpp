#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth/access_rules.hpp"
#include "auth/hasura_jwt.hpp"
#include "broker/history_types.hpp"
#include "redis/redis_endpoint.hpp"
#include "storage/database_url.hpp"

namespace realtime {

enum class LogFormat { text, json };

// Every setting of the server. Built once at start by parse_config(); immutable afterwards.
struct Config {
  std::string host = "0.0.0.0";
  std::uint16_t port = 3109;
  std::vector<std::string> cors_origins;  // empty = none allowed; {"*"} = any
  int heartbeat_seconds = 30;
  // Presence changes of a topic within this long of its last event go out together (0: each
  // at once).
  int presence_window_ms = 150;
  int typing_timeout_seconds = 5;  // a typing start not refreshed this long stops by itself
  int max_connections = 10000;
  int threads = 0;  // 0 before parse; parse_config() fills in the core count
  std::size_t max_message_bytes = 65536;
  std::size_t max_queue_bytes = 1048576;
  bool compression = true;                  // permessage-deflate when a client offers it
  std::size_t compression_min_bytes = 256;  // smaller event payloads go uncompressed
  int max_subscriptions = 1000;
  int client_rate_limit = 100;           // frames per second per connection; bursts of 10x that
  std::size_t max_body_bytes = 1048576;  // HTTP request body (publish batches)
  int max_batch_messages = 1000;
  std::string api_key;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
  std::string static_dir;                     // demo page; empty = built-in default location
  std::optional<HasuraJwtConfig> hasura_jwt;  // HASURA_GRAPHQL_JWT_SECRET, parsed
  std::string jwks_ca_file;                   // PEM CAs for jwk_url instead of the system's
  int jwks_startup_wait_seconds = 30;         // jwk_url: how long start waits for a key set
  std::string hasura_admin_secret;
  std::string hasura_endpoint;  // HASURA_GRAPHQL_ENDPOINT: what "hasura" checks ask
  int check_cache_size = 100000;
  int check_db_connections = 2;
  std::string token_secret;  // empty: the server generates one at start (single node only)
  int token_ttl_seconds = 60;
  std::string rules_file;  // empty: the built-in rules
  AccessRules rules = AccessRules::defaults();
  std::optional<RedisEndpoint> redis;  // unset: the embedded (memory) engine
  std::string redis_prefix = "realtime:";
  storage::DatabaseUrl database;              // DATABASE_URL; default: SQLite ./realtime.db
  std::string source_account_id = "primary";  // np_realtime_presence.source_account_id
  std::size_t presence_pending_max = 100000;  // distinct users waiting for the database
  // REALTIME_HISTORY_*: what a topic keeps when its rule says nothing (size 0: no history).
  HistoryLimits history;
  std::string socketio_path = "/socket.io/";  // empty: the Socket.IO gateway is off
  bool socketio_nchat = true;                 // nchat's event names next to the generic ones
  bool dev = false;

  bool any_origin() const;
  bool origin_allowed(std::string_view origin) const;
  // The effective configuration as "NAME=value" lines, secrets masked.
  std::string describe() const;
};

// What the command line asked for besides running the server.
enum class Action { run, help, version, check_config, migrate };

struct ParsedCommandLine {
  Action action = Action::run;
  Config config;
};

// Bad configuration: the message names the variable and the accepted values. main() exits 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The rules' checks against the rest of the settings (a hasura check needs the endpoint and the
// admin secret, a sql check a database). Throws ConfigError. parse_config() calls it; so does a
// SIGHUP reload.
void validate_checks(const Config& config);

// Reads env vars (through `env`), then flags, which win. Throws ConfigError.
ParsedCommandLine parse_config(const std::vector<std::string>& args, const EnvLookup& env);

EnvLookup process_env();
std::string usage_text();

}  // namespace realtime
