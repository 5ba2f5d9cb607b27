#include "redis/sentinel_watch.hpp"

#include <spdlog/spdlog.h>

namespace net = boost::asio;

namespace realtime {
namespace {

constexpr std::string_view switch_channel = "+switch-master";
// A sentinel that has not answered for this long is given up for the next one.
constexpr auto grace = std::chrono::seconds(2);
constexpr auto check_interval = std::chrono::milliseconds(500);
constexpr auto min_refresh_interval = std::chrono::seconds(1);

}  // namespace

SentinelWatch::SentinelWatch(net::io_context& io, RedisEndpoint endpoint)
    : endpoint_(std::move(endpoint)), check_timer_(io) {
  // One connection per sentinel, made once: moving on stops one and starts another, which is
  // safe from inside a connection's own reply handler (destroying it there would not be).
  for (const RedisAddress& sentinel : endpoint_.sentinels) {
    auto& c = connections_.emplace_back(
        std::make_unique<RedisConnection>(io, endpoint_.sentinel_endpoint(sentinel), "sentinel"));
    c->on_ready([this] { on_ready(); });
    c->on_down([this] {
      answered_ = false;
      unanswered_since_ = std::chrono::steady_clock::now();
    });
    c->on_push([this](const redisReply& push) { on_push(push); });
  }
}

SentinelWatch::~SentinelWatch() = default;

void SentinelWatch::start() {
  connect(0);
  schedule_check();
}

void SentinelWatch::stop() {
  check_timer_.cancel();
  for (auto& c : connections_) c->stop();
}

void SentinelWatch::connect(std::size_t index) {
  connections_[index_]->stop();
  index_ = index % connections_.size();
  answered_ = false;
  unanswered_since_ = std::chrono::steady_clock::now();
  connections_[index_]->start();
}

void SentinelWatch::on_ready() {
  // Asked first, then subscribed: a switch announced in between is missed by both, but the
  // next connect's ROLE check or a READONLY reply brings us back here.
  RedisConnection& connection = *connections_[index_];
  connection.command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", endpoint_.master_name},
                     [this](const redisReply* reply) { on_answer(reply); });
  connection.push_command({"SUBSCRIBE", std::string(switch_channel)});
}

void SentinelWatch::on_answer(const redisReply* reply) {
  if (reply == nullptr) return;  // the connection dropped: on_down and the check handle it
  const std::string sentinel = endpoint_.sentinels[index_].display();
  if (reply_is_array(*reply) && reply_size(*reply) == 2) {
    const auto port = parse_port_number(reply_string(reply_at(*reply, 1)));
    const std::string_view host = reply_string(reply_at(*reply, 0));
    if (!host.empty() && port) {
      answered_ = true;
      misses_ = 0;
      set_master(RedisAddress{std::string(host), *port}, "sentinel " + sentinel);
      return;
    }
  }
  // Nil: this sentinel does not monitor the master (a typo in the URL, or a new sentinel). The
  // check moves on to the next one within half a second: never in a tight loop.
  miss("does not name master \"" + endpoint_.master_name + "\" (" +
       (reply_is_error(*reply) ? std::string(reply_string(*reply)) : "no such master") + ")");
  unanswered_since_ = std::chrono::steady_clock::time_point{};
}

void SentinelWatch::miss(const std::string& what) {
  // Said once per sentinel; after a whole round without an answer, only at debug level.
  const auto level = ++misses_ <= connections_.size() ? spdlog::level::warn : spdlog::level::debug;
  spdlog::log(level, "redis sentinel {} {}; asking the next one",
              endpoint_.sentinels[index_].display(), what);
}

void SentinelWatch::on_push(const redisReply& push) {
  if (reply_size(push) < 3 || reply_string(reply_at(push, 0)) != "message" ||
      reply_string(reply_at(push, 1)) != switch_channel) {
    return;
  }
  auto message = parse_switch_master(reply_string(reply_at(push, 2)));
  if (!message || message->name != endpoint_.master_name) return;
  set_master(std::move(message->to), "+switch-master");
}

void SentinelWatch::set_master(RedisAddress address, std::string_view source) {
  if (master_ == address) return;
  spdlog::info("redis master \"{}\" is at {} ({}{})", endpoint_.master_name, address.display(),
               source, master_ ? ", was " + master_->display() : std::string());
  master_ = std::move(address);
  if (on_master_) on_master_(*master_);
}

void SentinelWatch::refresh(std::string_view why) {
  const auto now = std::chrono::steady_clock::now();
  if (now - refreshed_at_ < min_refresh_interval) return;
  refreshed_at_ = now;
  spdlog::info("redis: asking the sentinels again where master \"{}\" is: {}",
               endpoint_.master_name, why);
  // A subscribed connection takes no other command: a new one asks, then listens again.
  connect(index_);
}

void SentinelWatch::schedule_check() {
  check_timer_.expires_after(check_interval);
  check_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (!answered_ && std::chrono::steady_clock::now() - unanswered_since_ > grace) {
      if (unanswered_since_ != std::chrono::steady_clock::time_point{}) {
        miss("has not answered for " + std::to_string(grace.count()) + " s");
      }
      connect(index_ + 1);  // with one sentinel: the same one, asked again
    }
    schedule_check();
  });
}

}  // namespace realtime
