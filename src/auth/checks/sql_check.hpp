#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/checks/check_runner.hpp"
#include "storage/database.hpp"

namespace realtime {

// Runs "sql" checks on DATABASE_URL (Postgres, or the SQLite file of the embedded default):
// `connections` threads, each with its own connection (never the last-seen writer's), take
// questions from one bounded queue. The SQL's `$name`s are bound as driver parameters, never
// spliced into the text. A row means allowed, no row denied; a value the column cannot hold
// (e.g. not a uuid) is a denial too; anything else (down, timeout, queue full) is unavailable.
class SqlCheckRunner final : public CheckRunner {
 public:
  SqlCheckRunner(storage::DatabaseUrl url, std::size_t connections);
  ~SqlCheckRunner() override;

  void start();
  void stop();

  // Prepares every sql check of `rules` on a fresh connection; the first failure names the
  // check. Blocking (start-up, SIGHUP): never on a shard. nullopt when all prepare, or when the
  // database cannot be reached at all (then `unreachable` says why: the checks answer
  // unavailable until it comes back).
  std::optional<std::string> validate(const AccessRules& rules, std::chrono::milliseconds timeout,
                                      std::string* unreachable = nullptr) const;

  void run(CheckRequest request, Done done) override;

 private:
  struct Job {
    CheckRequest request;
    Done done;
    std::chrono::steady_clock::time_point deadline;
  };
  void work();
  CheckResult ask(storage::Database& db, const Job& job);

  storage::DatabaseUrl url_;
  std::size_t connections_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace realtime
