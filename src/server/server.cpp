#include "server/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "auth/authorizer.hpp"
#include "auth/checks/http_checks.hpp"
#include "auth/checks/sql_check.hpp"
#include "auth/jwks_fetcher.hpp"
#include "broker/history.hpp"
#include "broker/memory_broker.hpp"
#include "broker/redis_broker.hpp"
#include "net/http_client.hpp"
#include "net/listener.hpp"
#include "net/shard.hpp"
#include "net/socketio_gateway.hpp"
#include "presence/memory_presence_store.hpp"
#include "presence/presence_publisher.hpp"
#include "presence/redis_presence_store.hpp"
#include "presence/redis_typing_directory.hpp"
#include "presence/typing_tracker.hpp"
#include "protocol/frame.hpp"
#include "redis/redis_token_claims.hpp"
#include "server/http_api.hpp"
#include "server/lifecycle_events.hpp"
#include "server/metrics.hpp"
#include "server/server_context.hpp"
#include "storage/last_seen.hpp"
#include "storage/last_seen_presence_store.hpp"
#include "storage/last_seen_writer.hpp"
#include "util/clock.hpp"
#include "util/systemd_notify.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

std::string random_node_id() {
  std::mt19937_64 rng{std::random_device{}()};
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (int i = 0; i < 8; ++i) out += alphabet[rng() % 36];
  return out;
}

}  // namespace

struct Server::Parts {
  Config config;
  Metrics metrics;
  // Last-seen persistence: outlives the presence store, whose sinks feed it.
  storage::WriterStats database_stats;
  std::unique_ptr<storage::LastSeenWriter> last_seen_writer;  // null: DATABASE_URL=none
  std::unique_ptr<storage::LastSeen> last_seen;
  ServerContext context;
  std::vector<std::unique_ptr<Shard>> shards;
  std::shared_ptr<HistoryPolicy> history;  // shared with the Redis engine's loop
  std::unique_ptr<Broker> broker;
  RedisBroker* redis_broker = nullptr;  // the broker, when the engine is Redis
  std::unique_ptr<PresenceStore> presence;
  RedisPresenceStore* redis_presence = nullptr;
  MemoryPresenceStore* memory_presence = nullptr;  // the presence, when the engine is embedded
  std::unique_ptr<TokenClaims> token_claims;
  std::unique_ptr<TypingTracker> typing;
  // Presence events to topics, coalesced per window (created before any change can arrive).
  std::unique_ptr<PresencePublisher> presence_events;
  std::unique_ptr<RedisTypingDirectory> typing_directory;  // cluster-wide list, with Redis
  std::shared_ptr<JwksFetcher> jwks;                       // HASURA_GRAPHQL_JWT_SECRET with jwk_url
  std::unique_ptr<Security> security;
  // Checks: their own loop and thread for HTTP backends (Hasura, a proxy), threads of their own
  // for SQL. A shard never waits on them.
  std::unique_ptr<Authorizer> authorizer;
  net::io_context checks_io;
  net::executor_work_guard<net::io_context::executor_type> checks_work{checks_io.get_executor()};
  std::thread checks_thread;
  std::unique_ptr<HttpClient> http_client;
  std::unique_ptr<HasuraCheckRunner> hasura_checks;
  std::unique_ptr<ProxyCheckRunner> proxy_checks;
  std::unique_ptr<SqlCheckRunner> sql_checks;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<SocketIoGateway> gateway;          // null: REALTIME_SOCKETIO_PATH=off
  std::vector<std::shared_ptr<Listener>> listeners;  // one per shard, one port
  // Registered before the port opens, so a SIGTERM right after start-up is never lost.
  net::io_context signals_io;
  net::signal_set signals{signals_io, SIGINT, SIGTERM, SIGHUP};

  Parts(Config c, std::string static_dir)
      : config(std::move(c)), metrics(static_cast<std::size_t>(config.threads)) {
    if (config.hasura_jwt && !config.hasura_jwt->jwk_url.empty()) {
      JwksFetcher::Options options;
      options.url = config.hasura_jwt->jwk_url;
      options.ca_file = config.jwks_ca_file;
      try {
        jwks = std::make_shared<JwksFetcher>(std::move(options));
      } catch (const std::runtime_error& e) {
        throw ConfigError(std::string("REALTIME_JWKS_CA_FILE: ") + e.what());
      }
    }
    context.config = &config;
    context.metrics = &metrics;
    context.node_id = random_node_id();
    std::vector<DeliveryTarget*> targets;
    for (int i = 0; i < config.threads; ++i) {
      shards.push_back(std::make_unique<Shard>(static_cast<std::size_t>(i), context));
      targets.push_back(shards.back().get());
    }
    if (auto db = storage::make_database(config.database)) {
      storage::WriterOptions options;
      options.account_id = config.source_account_id;
      options.pending_max = config.presence_pending_max;
      last_seen_writer =
          std::make_unique<storage::LastSeenWriter>(std::move(db), options, database_stats);
      metrics.set_database(&database_stats);
    }
    last_seen =
        std::make_unique<storage::LastSeen>(last_seen_writer.get(), [] { return unix_millis(); });
    auto on_topic_changes = [this](const std::vector<PresenceChange>& changes) {
      last_seen->topic_changes(changes);
      // Backends hear every change at once; a topic's subscribers through the coalescer.
      broker->publish(presence_backend_events(changes), nullptr);
      if (presence_events) presence_events->topic_changes(changes);
    };
    auto on_user_change = [this](const UserChange& change) { last_seen->user_changed(change); };
    std::unique_ptr<PresenceStore> engine_presence;
    history = std::make_shared<HistoryPolicy>(config.history,
                                              std::make_shared<const AccessRules>(config.rules));
    if (config.redis) {
      RedisBrokerOptions options;
      options.endpoint = *config.redis;
      options.prefix = config.redis_prefix;
      options.node_id = context.node_id;
      options.history = history;
      auto redis = std::make_unique<RedisBroker>(std::move(options), std::move(targets));
      auto store = std::make_unique<RedisPresenceStore>(
          *redis, context.node_id, config.heartbeat_seconds, on_topic_changes, on_user_change);
      token_claims = std::make_unique<RedisTokenClaims>(*redis);
      typing_directory = std::make_unique<RedisTypingDirectory>(
          *redis, std::chrono::seconds(config.typing_timeout_seconds));
      redis_broker = redis.get();
      redis_presence = store.get();
      broker = std::move(redis);
      engine_presence = std::move(store);
    } else {
      broker = std::make_unique<MemoryBroker>(std::move(targets), history);
      auto store = std::make_unique<MemoryPresenceStore>(on_topic_changes, on_user_change);
      memory_presence = store.get();
      engine_presence = std::move(store);
    }
    presence =
        std::make_unique<storage::LastSeenPresenceStore>(std::move(engine_presence), *last_seen);
    // The first shard's loop runs the presence windows' timer and the typing timeouts: they
    // are rare and cheap.
    presence_events = std::make_unique<PresencePublisher>(
        shards.front()->io().get_executor(), std::chrono::milliseconds(config.presence_window_ms),
        *broker, metrics, [this] { return authorizer ? authorizer->rules() : nullptr; });
    typing = std::make_unique<TypingTracker>(shards.front()->io().get_executor(),
                                             std::chrono::seconds(config.typing_timeout_seconds),
                                             [this](std::vector<TypingChange> changes) {
                                               broker->publish(typing_events(changes), nullptr);
                                               if (typing_directory)
                                                 typing_directory->record(changes);
                                             });
    std::string token_secret = config.token_secret;
    if (token_secret.empty()) {
      token_secret = random_token_secret();
      if (!config.dev)
        spdlog::warn(
            "REALTIME_TOKEN_SECRET is not set: connection tokens are signed with a random secret "
            "of "
            "this process, so they work on this node only and not after a restart");
    }
    security = std::make_unique<Security>(config.hasura_jwt, std::move(token_secret),
                                          config.token_ttl_seconds,
                                          std::make_unique<MemoryUsedTokens>(), jwks);
    authorizer = std::make_unique<Authorizer>(config.rules,
                                              static_cast<std::size_t>(config.check_cache_size));
    http_client = std::make_unique<HttpClient>(checks_io.get_executor());
    if (!config.hasura_endpoint.empty()) {
      hasura_checks = std::make_unique<HasuraCheckRunner>(*http_client, config.hasura_endpoint,
                                                          config.hasura_admin_secret);
      authorizer->set_runner(CheckSpec::Kind::hasura, hasura_checks.get());
    }
    proxy_checks = std::make_unique<ProxyCheckRunner>(*http_client, config.api_key);
    authorizer->set_runner(CheckSpec::Kind::http, proxy_checks.get());
    if (config.database.kind != storage::DatabaseKind::none) {
      sql_checks = std::make_unique<SqlCheckRunner>(
          config.database, static_cast<std::size_t>(config.check_db_connections));
      authorizer->set_runner(CheckSpec::Kind::sql, sql_checks.get());
    }
    api = std::make_unique<HttpApi>(config, *security, *authorizer, *broker, *presence, metrics,
                                    std::move(static_dir));
    api->set_user_commands([this](UserCommand command, std::function<void(std::size_t)> done) {
      apply_here(command, std::move(done));
      broker->send_command(command);
    });
    broker->set_command_handler([this](const UserCommand& command) { apply_here(command, {}); });
    api->set_count_recipients([this](auto rooms, std::function<void(std::size_t)> done) {
      auto total =
          std::make_shared<std::pair<std::atomic<std::size_t>, std::atomic<std::size_t>>>();
      total->second = shards.size();
      for (auto& shard : shards) {
        shard->count_subscribers(rooms, [total, done](std::size_t n) {
          total->first += n;
          if (--total->second == 0) done(total->first.load());
        });
      }
    });
    context.authorizer = authorizer.get();
    context.history = history.get();
    api->set_history_policy(history.get());
    if (!config.socketio_path.empty()) {
      gateway = std::make_unique<SocketIoGateway>(context, config.socketio_path,
                                                  socketio::DialectOptions{config.socketio_nchat});
      context.gateway = gateway.get();
    }
    context.security = security.get();
    context.token_claims = token_claims.get();
    context.broker = broker.get();
    context.presence = presence.get();
    context.typing = typing.get();
    if (typing_directory) {
      api->set_typing_lookup([d = typing_directory.get()](std::string_view topic, auto done) {
        d->typing_in(topic, std::move(done));
      });
    } else {
      api->set_typing_lookup(
          [t = typing.get()](std::string_view topic, auto done) { done(t->typing_in(topic)); });
    }
    context.api = api.get();
  }

  // Applies a user command to this node's connections; `done` gets how many were affected.
  void apply_here(const UserCommand& command, std::function<void(std::size_t)> done) {
    if (command.kind == UserCommand::Kind::unsubscribe) {
      authorizer->forget(command.user_id, command.topic);
    }
    struct Count {
      std::atomic<std::size_t> affected{0};
      std::atomic<std::size_t> shards_left;
      std::function<void(std::size_t)> done;
    };
    auto count = std::make_shared<Count>();
    count->shards_left = shards.size();
    count->done = std::move(done);
    for (auto& shard : shards) {
      shard->apply(command, [count](std::size_t affected) {
        count->affected += affected;
        if (--count->shards_left == 0 && count->done) count->done(count->affected.load());
      });
    }
  }

  // SIGHUP: the rules file again, validated like at start; a bad one keeps the old rules.
  void reload_rules() {
    if (config.rules_file.empty()) {
      spdlog::info("SIGHUP: no REALTIME_RULES_FILE; the built-in rules stay");
      return;
    }
    try {
      std::ifstream in(config.rules_file);
      if (!in) throw ConfigError("cannot read " + config.rules_file);
      std::stringstream text;
      text << in.rdbuf();
      Config candidate = config;
      candidate.rules = AccessRules::parse(text.str(), config.rules_file);
      validate_checks(candidate);
      if (sql_checks) {
        if (auto err = sql_checks->validate(candidate.rules, std::chrono::seconds(10))) {
          throw ConfigError(*err);
        }
      }
      if (!hasura_checks) {
        for (const auto& c : candidate.rules.checks()) {
          if (c.kind == CheckSpec::Kind::hasura) {
            throw ConfigError("check \"" + c.name +
                              "\" asks Hasura, but HASURA_GRAPHQL_ENDPOINT was not set at start");
          }
        }
      }
      const std::size_t count = candidate.rules.rules().size();
      const std::size_t checks = candidate.rules.checks().size();
      authorizer->replace_rules(std::move(candidate.rules));
      history->replace_rules(authorizer->rules());
      spdlog::info("SIGHUP: reloaded {} ({} rules, {} checks); cached decisions dropped",
                   config.rules_file, count, checks);
      warn_open_rules();
    } catch (const ConfigError& e) {
      spdlog::error("SIGHUP: rules not reloaded, the old ones stay: {}", e.what());
    }
  }

  void warn_open_rules() const {
    if (config.dev) return;
    for (const auto& match : authorizer->rules()->unchecked_open_rules()) {
      spdlog::warn(
          "rules: \"{}\" lets a whole role subscribe to every such topic with no check: any "
          "signed-in user can read any of them. Add a membership check (docs/security.md)",
          match);
    }
  }

  ~Parts() {
    for (auto& s : shards) s->stop();
    for (auto& s : shards) s->join();
    context.stopped = true;
    if (redis_broker != nullptr) redis_broker->stop();  // it delivers to the shards
    if (jwks) jwks->stop();  // its waiting token requests hold sessions of the shards
    if (sql_checks) sql_checks->stop();
    checks_work.reset();
    checks_io.stop();
    if (checks_thread.joinable()) checks_thread.join();
    listeners.clear();
    if (gateway) gateway->drop_all();  // its sessions live on the shards
    typing.reset();                    // its timer belongs to the first shard's loop
    presence_events.reset();           // so does this one's
    // Shards first: destroying their loops destroys the sessions, which still use the rest.
    shards.clear();
  }
};

Server::Server(Config config, std::string static_dir)
    : parts_(std::make_unique<Parts>(std::move(config), std::move(static_dir))) {}

Server::~Server() = default;

void Server::start() {
  auto& p = *parts_;
  if (p.sql_checks) {
    // The rules' SQL must prepare: a typo or a missing table stops the server here, not on the
    // first subscribe.
    std::string unreachable;
    if (auto err = p.sql_checks->validate(*p.authorizer->rules(), std::chrono::seconds(10),
                                          &unreachable)) {
      throw ConfigError(*err);
    }
    if (!unreachable.empty()) {
      spdlog::warn(
          "sql checks: the database is unreachable ({}); their SQL is not verified, and "
          "they answer unavailable until it comes back",
          unreachable);
    }
    p.sql_checks->start();
  }
  p.checks_thread = std::thread([&p] {
    try {
      p.checks_io.run();
    } catch (const std::exception& e) {
      spdlog::critical("checks loop stopped by an exception: {}", e.what());
      std::abort();
    }
  });
  p.warn_open_rules();
  spdlog::info("last-seen database: {}", p.config.database.describe());
  if (p.last_seen_writer) {
    if (auto err = p.last_seen_writer->start()) {
      spdlog::error("database unavailable at start ({}); last-seen rows wait and are retried",
                    *err);
    }
  }
  if (p.jwks) {
    // Tokens can't be verified without keys: the port opens only once a set is in use.
    const std::string& url = p.config.hasura_jwt->jwk_url;
    const std::string shown = url.substr(0, url.find('?'));
    if (url.starts_with("http://")) {
      spdlog::warn("jwk_url {} is plain http: whoever is on the path can hand us keys; use https",
                   shown);
    }
    spdlog::info("jwk_url: fetching the key set from {} (waiting up to {} s)", shown,
                 p.config.jwks_startup_wait_seconds);
    if (auto error = p.jwks->start(std::chrono::seconds(p.config.jwks_startup_wait_seconds))) {
      throw ConfigError("HASURA_GRAPHQL_JWT_SECRET: no key set could be fetched from jwk_url " +
                        shown + " within " + std::to_string(p.config.jwks_startup_wait_seconds) +
                        " s (REALTIME_JWKS_STARTUP_WAIT_SECONDS): " + *error);
    }
  }
  net::ip::tcp::endpoint endpoint(net::ip::make_address(p.config.host), p.config.port);
  std::vector<Shard*> shards;
  for (auto& s : p.shards) shards.push_back(s.get());
  p.listeners = Listener::open(endpoint, shards);
  for (auto& l : p.listeners) l->run();
  if (p.redis_broker != nullptr) {
    p.redis_broker->start();
    p.redis_presence->start();
  }
  for (auto& s : p.shards) s->start();
  const auto local = p.listeners.front()->local_endpoint();
  spdlog::info("nself-realtime {} listening on {}:{} (engine {}, {} shards, node {})",
               REALTIME_VERSION, local.address().to_string(), local.port(), p.broker->engine(),
               p.shards.size(), p.context.node_id);
}

std::uint16_t Server::port() const { return parts_->listeners.front()->local_endpoint().port(); }

int Server::run_until_signal(std::chrono::milliseconds grace) {
  auto& p = *parts_;
  int received = 0;
  std::function<void()> wait_signal = [&] {
    p.signals.async_wait([&](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        p.reload_rules();
        return wait_signal();
      }
      received = signo;
    });
  };
  wait_signal();
  p.signals_io.run();
  spdlog::info("received signal {}: closing {} connections with 1001", received,
               p.metrics.connections());
  notify_stopping("closing " + std::to_string(p.metrics.connections()) + " connections");

  p.context.shutting_down = true;
  for (auto& l : p.listeners) l->stop();
  for (auto& s : p.shards) s->close_all(close_code::going_away);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (p.metrics.connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (p.metrics.connections() > 0) {
    spdlog::warn("{} connections did not close in time; dropping them", p.metrics.connections());
  }
  // Whatever is still ours in the cluster's presence goes now, not after the liveness timeout.
  if (p.redis_presence != nullptr) p.redis_presence->leave_cluster(std::chrono::seconds(1));
  // Presence windows still open (the disconnects above, with Redis their leaves): their diffs
  // go out now, for the subscribers on other nodes.
  p.presence_events->flush(std::chrono::milliseconds(500));
  if (p.last_seen_writer) {
    // Connections dropped above never tell presence: their users are offline all the same.
    // (With Redis, `bye` above already reported them, cluster-wide.)
    if (const std::size_t dropped =
            p.memory_presence ? p.last_seen->all_offline(p.memory_presence->connected_users()) : 0;
        dropped > 0) {
      spdlog::info("last-seen: {} users of dropped connections recorded offline", dropped);
    }
    // The rows of the disconnects above: whatever the database takes before the window ends.
    p.last_seen_writer->stop(
        std::max(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500)));
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace realtime
