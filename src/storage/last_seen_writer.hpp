#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/database.hpp"
#include "storage/pending_rows.hpp"
#include "storage/writer_stats.hpp"
#include "util/backoff.hpp"

namespace realtime::storage {

struct WriterOptions {
  std::string account_id = "primary";
  std::size_t pending_max = 100000;  // distinct users waiting; beyond, the oldest row is dropped
  std::size_t batch_max = 1000;      // rows per upsert statement
  // How long rows gather after the first one before they are written (one transaction and one
  // wake-up of the thread for all of them). Shutdown does not wait for it.
  std::chrono::milliseconds gather{50};
  std::chrono::milliseconds op_timeout{10000};
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_cap{5000};
  // An idle writer still asks the database something this often, so /health notices an outage
  // without waiting for a row to write; a probe (or any call) taking longer than probe_timeout
  // counts as the database being down.
  std::chrono::milliseconds probe_interval{2000};
  std::chrono::milliseconds probe_timeout{2000};
};

// Writes last-seen rows on its own thread, so no shard ever waits for the database. record()
// only appends to a coalescing buffer under a small mutex; the thread writes whatever has
// gathered in one upsert, keeps it when the database is down and retries with backoff.
class LastSeenWriter {
 public:
  using LookupDone = std::function<void(std::vector<PresenceRow>)>;

  LastSeenWriter(std::unique_ptr<Database> db, WriterOptions options, WriterStats& stats);
  ~LastSeenWriter();
  LastSeenWriter(const LastSeenWriter&) = delete;
  LastSeenWriter& operator=(const LastSeenWriter&) = delete;

  // Opens the database and migrates it (synchronously, once), then starts the thread. Returns
  // the error of that first attempt; the thread keeps retrying either way.
  std::optional<std::string> start();

  // Any thread. Rows with an id the table can't hold are dropped (counted, warned).
  void record(PresenceRow row);
  // The stored rows of `user_ids` (rows still waiting to be written win). `done` runs once, on
  // the writer thread (or the caller's when stopped); with the database down it gets the
  // waiting rows only.
  void lookup(std::vector<std::string> user_ids, LookupDone done);

  // Writes what it can until `deadline`, then stops the thread. Returns how many rows were
  // left unwritten (and logs it).
  std::size_t stop(Deadline deadline);

 private:
  struct Lookup {
    std::vector<std::string> user_ids;
    LookupDone done;
  };

  void run();
  std::optional<DbError> ensure_open(Deadline deadline);
  // Upserts `rows` (all or none) the cheapest way for the dialect.
  std::optional<DbError> upsert(const std::vector<PresenceRow>& rows, Deadline deadline);
  // Rolls back after `error`; returns it, no longer a data error if the rollback failed.
  DbError rollback(DbError error, Deadline deadline);
  // Writes one batch; on a data error writes its rows one by one and drops the refused ones.
  // Leaves in `batch` the rows not written (all of them after an outage).
  std::optional<DbError> write(std::vector<PresenceRow>& batch, Deadline deadline);
  void answer(Lookup& lookup, bool query_database);
  // One probe (reconnecting first when closed); true when it reconnected.
  bool probe();
  void warn(const std::string& message);
  Deadline op_deadline() const;

  std::unique_ptr<Database> db_;
  WriterOptions options_;
  WriterStats& stats_;
  Backoff backoff_;
  std::thread thread_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::condition_variable finished_cv_;
  PendingRows pending_;
  std::vector<Lookup> lookups_;
  Deadline retry_at_{};
  Deadline write_at_{};  // end of the current gathering window
  Deadline probe_at_{};
  bool stop_requested_ = false;
  Deadline stop_deadline_{};
  bool running_ = false;
  bool finished_ = false;

  // Rate limit of warnings (writer thread and record()): one per 10 s, with a count of the rest.
  std::mutex warn_mutex_;
  std::chrono::steady_clock::time_point last_warning_{};
  std::size_t suppressed_warnings_ = 0;
};

}  // namespace realtime::storage
