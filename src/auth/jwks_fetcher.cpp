#include "auth/jwks_fetcher.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "auth/security.hpp"
#include "net/http_fetch.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

// Token requests waiting for one refetch; beyond, they are refused at once.
constexpr std::size_t max_waiters = 4096;
constexpr std::size_t max_document_bytes = 1024 * 1024;

std::string kids_of(const JwkSet& set) {
  std::string out;
  for (const auto& key : set.keys) {
    if (!out.empty()) out += ", ";
    out += key.kid ? key.kid->substr(0, 64) : std::string("(no kid)");  // the document's text
  }
  return out;
}

bool same_keys(const JwkSet& a, const JwkSet& b) {
  if (a.keys.size() != b.keys.size()) return false;
  for (std::size_t i = 0; i < a.keys.size(); ++i) {
    if (a.keys[i].kid != b.keys[i].kid || a.keys[i].pem != b.keys[i].pem) return false;
  }
  return true;
}

}  // namespace

struct JwksFetcher::Loop {
  net::io_context io{1};
  net::steady_timer timer{io};
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
};

JwksFetcher::JwksFetcher(Options options)
    : options_(std::move(options)),
      tls_(make_tls_client_context(options_.ca_file)),
      loop_(std::make_unique<Loop>()),
      backoff_(options_.retry_initial, options_.retry_cap),
      gate_(options_.unknown_kid_interval) {}

JwksFetcher::~JwksFetcher() { stop(); }

std::optional<std::string> JwksFetcher::start(std::chrono::milliseconds wait) {
  if (running_.exchange(true)) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  thread_ = std::thread([this] { loop_->io.run(); });
  net::post(loop_->io, [this] { fetch(); });
  std::unique_lock lock(status_mutex_);
  while (keys_.load() == nullptr) {
    if (attempts_ == 0) {
      first_attempt_.wait(lock);  // bounded by the fetch timeout
    } else if (first_attempt_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (keys_.load() != nullptr) break;
      std::string error = status_.last_error;
      lock.unlock();
      stop();
      return error;
    }
  }
  return std::nullopt;
}

void JwksFetcher::stop() {
  if (!loop_) return;
  loop_->io.stop();
  if (thread_.joinable()) thread_.join();
  running_ = false;
  // Destroys what still waits in the loop (callbacks holding HTTP sessions) here and now, while
  // the shards those sessions belong to still exist.
  waiters_.clear();
  loop_.reset();
}

void JwksFetcher::refetch_for_unknown_kid(std::function<void()> done) {
  if (!running_.load()) {
    if (done) done();
    return;
  }
  net::post(loop_->io, [this, done = std::move(done)]() mutable {
    if (fetching_) {  // whatever started it, its answer is what the caller waits for
      if (done && waiters_.size() < max_waiters) return waiters_.push_back(std::move(done));
      if (done) done();
      return;
    }
    if (!gate_.try_pass(std::chrono::steady_clock::now())) {
      if (done) done();
      return;
    }
    spdlog::info("jwk_url: a token names a kid the key set lacks; fetching the set again");
    if (done) waiters_.push_back(std::move(done));
    fetch();
  });
}

JwksStatus JwksFetcher::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void JwksFetcher::fetch() {
  if (fetching_) return;
  fetching_ = true;
  {
    std::lock_guard lock(status_mutex_);
    status_.last_attempt = unix_seconds();
  }
  HttpFetchOptions options;
  options.timeout = options_.fetch_timeout;
  options.body_limit = max_document_bytes;
  http_get(loop_->io, tls_, options_.url, options, [this](HttpFetchResult result) {
    if (auto* error = std::get_if<std::string>(&result)) return fetched(*error, nullptr, {});
    auto& response = std::get<HttpFetchResponse>(result);
    if (response.status < 200 || response.status > 299) {
      return fetched("HTTP " + std::to_string(response.status) +
                         (response.status >= 300 && response.status < 400
                              ? " (redirects are not followed: give the final URL)"
                              : ""),
                     nullptr, {});
    }
    auto parsed = parse_jwk_set(response.body);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      return fetched("the document is not a usable key set: " + *error, nullptr, {});
    }
    const auto fresh_for = jwks_fresh_for(response.cache_control, response.expires, response.date,
                                          unix_seconds(), options_.limits);
    fetched({}, std::make_shared<const JwkSet>(std::move(std::get<JwkSet>(parsed))), fresh_for);
  });
}

void JwksFetcher::fetched(std::string error, std::shared_ptr<const JwkSet> set,
                          std::chrono::seconds fresh_for) {
  fetching_ = false;
  const auto previous = keys_.load();
  std::chrono::milliseconds next;
  bool was_ok = false;
  {
    std::lock_guard lock(status_mutex_);
    was_ok = status_.ok || attempts_ == 0;
  }
  if (set) {
    if (!previous || !same_keys(*previous, *set)) {
      spdlog::info("jwk_url: {} {} key(s) in use ({}); refreshing in {} s",
                   previous ? "key set changed:" : "fetched the key set:", set->keys.size(),
                   kids_of(*set), fresh_for.count());
      for (const auto& why : set->skipped) spdlog::info("jwk_url: skipped {}", why);
    } else if (!was_ok) {
      spdlog::info("jwk_url: fetched the key set again after {} failed attempt(s)",
                   backoff_.attempts());
    }
    keys_.store(set);
    backoff_.reset();
    next = fresh_for;
  } else {
    next = backoff_.next();
    if (was_ok || !previous) {
      spdlog::warn("jwk_url: cannot fetch the key set: {}; {}; retrying in {} ms", error,
                   previous ? "the last good set stays in use" : "no key set yet", next.count());
    } else {
      spdlog::debug("jwk_url: still cannot fetch the key set: {}", error);
    }
  }
  {
    std::lock_guard lock(status_mutex_);
    ++attempts_;
    status_.ok = set != nullptr;
    status_.last_error = std::move(error);
    if (set) status_.last_success = status_.last_attempt;
    status_.keys = keys_.load() ? keys_.load()->keys.size() : 0;
  }
  first_attempt_.notify_all();
  schedule(next);
  wake_waiters();
}

void JwksFetcher::schedule(std::chrono::milliseconds after) {
  const std::uint64_t generation = ++generation_;
  {
    std::lock_guard lock(status_mutex_);
    status_.next_refresh =
        unix_seconds() + std::chrono::duration_cast<std::chrono::seconds>(after).count();
  }
  loop_->timer.expires_after(after);
  loop_->timer.async_wait([this, generation](boost::system::error_code ec) {
    if (!ec && generation == generation_) fetch();
  });
}

void JwksFetcher::wake_waiters() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& done : waiters) done();
}

}  // namespace realtime
