#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwks.hpp"
#include "auth/jwks_refresh.hpp"
#include "util/backoff.hpp"

namespace boost::asio::ssl {
class context;
}

namespace realtime {

// Keeps the key set of a jwk_url fresh, on its own thread and event loop: shards and the token
// endpoint only ever read the current immutable snapshot. Refreshes when the response's cache
// headers say (JwksRefreshLimits), retries failures with backoff while the last good set stays in
// use, and fetches early (at most once per 10 s) when a token names a kid the set lacks.
class JwksFetcher final : public JwksSource {
 public:
  struct Options {
    std::string url;
    std::string ca_file;  // empty: the system's CAs
    JwksRefreshLimits limits;
    std::chrono::milliseconds fetch_timeout{10000};
    std::chrono::milliseconds retry_initial{1000};
    std::chrono::milliseconds retry_cap{60000};
    std::chrono::steady_clock::duration unknown_kid_interval = std::chrono::seconds(10);
  };

  // Throws std::runtime_error when the CA file (or the system's CAs) can't be loaded.
  explicit JwksFetcher(Options options);
  ~JwksFetcher() override;
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // Starts the thread and waits until the first key set is in use, retrying failed fetches for
  // up to `wait` (one attempt at least). Returns nullopt then; else why the last attempt failed,
  // with the thread stopped again.
  std::optional<std::string> start(std::chrono::milliseconds wait);
  // Ends the thread; callbacks still waiting for a refetch are dropped, not run. Call it after
  // every thread that may call refetch_for_unknown_kid() has stopped.
  void stop();

  std::shared_ptr<const JwkSet> keys() const override { return keys_.load(); }
  void refetch_for_unknown_kid(std::function<void()> done) override;
  JwksStatus status() const override;

 private:
  struct Loop;
  // Fetcher thread only, from here to `waiters_`.
  void fetch();
  void fetched(std::string result_error, std::shared_ptr<const JwkSet> set,
               std::chrono::seconds fresh_for);
  void schedule(std::chrono::milliseconds after);
  void wake_waiters();

  Options options_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<std::shared_ptr<const JwkSet>> keys_;
  Backoff backoff_;
  RefetchGate gate_;
  bool fetching_ = false;
  std::uint64_t generation_ = 0;  // of the scheduled fetch; an early fetch reschedules
  std::vector<std::function<void()>> waiters_;

  mutable std::mutex status_mutex_;
  std::condition_variable first_attempt_;
  JwksStatus status_;
  std::uint64_t attempts_ = 0;
};

}  // namespace realtime
