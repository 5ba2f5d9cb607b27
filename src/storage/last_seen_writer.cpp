#include "storage/last_seen_writer.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <random>
#include <unordered_map>

#include "storage/migrate.hpp"

namespace realtime::storage {
namespace {

using Clock = std::chrono::steady_clock;

// Rows per lookup statement: far below either database's parameter limit.
constexpr std::size_t lookup_chunk = 500;

// Marks the writer busy in a database call for as long as it lives (WriterStats::reachable).
class BusyMark {
 public:
  explicit BusyMark(WriterStats& stats) : stats_(stats) {
    stats_.busy_since_ns.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count(),
        std::memory_order_relaxed);
  }
  ~BusyMark() { stats_.busy_since_ns.store(0, std::memory_order_relaxed); }
  BusyMark(const BusyMark&) = delete;
  BusyMark& operator=(const BusyMark&) = delete;

 private:
  WriterStats& stats_;
};

Backoff::Random make_random() {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [rng] { return (*rng)(); };
}

}  // namespace

LastSeenWriter::LastSeenWriter(std::unique_ptr<Database> db, WriterOptions options,
                               WriterStats& stats)
    : db_(std::move(db)),
      options_(std::move(options)),
      stats_(stats),
      backoff_(options_.retry_initial, options_.retry_cap, make_random()),
      pending_(options_.pending_max) {
  if (options_.batch_max < 1) options_.batch_max = 1;
  stats_.kind = std::string(to_string(db_->kind()));
  stats_.migrations_expected = static_cast<int>(migrations(db_->dialect()).size());
  stats_.stall_limit = options_.probe_timeout;
}

LastSeenWriter::~LastSeenWriter() { stop(Clock::now()); }

Deadline LastSeenWriter::op_deadline() const {
  auto deadline = Clock::now() + options_.op_timeout;
  if (stop_requested_ && stop_deadline_ < deadline) deadline = stop_deadline_;
  return deadline;
}

std::optional<std::string> LastSeenWriter::start() {
  std::optional<DbError> error = ensure_open(Clock::now() + options_.op_timeout);
  {
    std::lock_guard lock(mutex_);
    running_ = true;
    if (error) retry_at_ = Clock::now() + backoff_.next();
    probe_at_ = Clock::now();  // the first at once: /health shows a latency from the start
  }
  thread_ = std::thread([this] { run(); });
  if (error) return error->message;
  return std::nullopt;
}

std::optional<DbError> LastSeenWriter::ensure_open(Deadline deadline) {
  if (db_->is_open()) return std::nullopt;
  if (auto err = db_->open(deadline)) {
    stats_.up = false;
    return err;
  }
  auto migrated = migrate(*db_, deadline);
  if (auto* err = std::get_if<DbError>(&migrated)) {
    db_->close();
    stats_.up = false;
    return *err;
  }
  if (const int applied = std::get<int>(migrated); applied > 0) {
    spdlog::info("database: applied {} schema migration(s)", applied);
  }
  // Migrated: every migration of this build is in (a newer server's extra ones don't count).
  stats_.migrations_applied = stats_.migrations_expected;
  stats_.up = true;
  return std::nullopt;
}

bool LastSeenWriter::probe() {
  BusyMark busy(stats_);
  bool reconnected = false;
  if (!db_->is_open()) {
    if (ensure_open(op_deadline())) {
      stats_.probe_latency_us = -1;
      return false;
    }
    reconnected = true;
  }
  const auto started = Clock::now();
  auto result = db_->run({schema_version_sql(), {}, true}, started + options_.probe_timeout);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  if (auto* err = std::get_if<DbError>(&result)) {
    stats_.up = false;
    stats_.probe_latency_us = -1;
    db_->close();  // the next probe or write reconnects
    warn("database: health probe failed: " + err->message);
    return false;
  }
  int version = 0;
  if (const Rows& rows = std::get<Rows>(result); !rows.empty() && !rows[0].empty()) {
    std::from_chars(rows[0][0].data(), rows[0][0].data() + rows[0][0].size(), version);
  }
  stats_.migrations_applied = migrations_applied(db_->dialect(), version);
  stats_.probe_latency_us = took.count();
  stats_.up = true;
  return reconnected;
}

void LastSeenWriter::warn(const std::string& message) {
  std::lock_guard lock(warn_mutex_);
  const auto now = Clock::now();
  if (last_warning_ != Clock::time_point{} && now - last_warning_ < std::chrono::seconds(10)) {
    ++suppressed_warnings_;
    return;
  }
  if (suppressed_warnings_ > 0) {
    spdlog::warn("{} ({} similar warnings suppressed)", message, suppressed_warnings_);
  } else {
    spdlog::warn("{}", message);
  }
  last_warning_ = now;
  suppressed_warnings_ = 0;
}

void LastSeenWriter::record(PresenceRow row) {
  if (!storable_user_id(row.user_id)) {
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    warn(
        "last-seen: dropped a row whose user id the table can't hold (empty, over 255 bytes, "
        "NUL or invalid UTF-8)");
    return;
  }
  std::size_t dropped = 0;
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = pending_.empty();
    // The first row opens a window in which others gather: one write for all of them.
    if (first) write_at_ = Clock::now() + options_.gather;
    dropped = pending_.put(std::move(row));
    stats_.pending.store(static_cast<std::int64_t>(pending_.size()), std::memory_order_relaxed);
  }
  // With rows already waiting, the thread is writing or waiting for write_at_: no need to wake it.
  if (first) wake_.notify_one();
  if (dropped > 0) {
    stats_.dropped.fetch_add(dropped, std::memory_order_relaxed);
    warn("last-seen: " + std::to_string(options_.pending_max) +
         " users are waiting to be written (REALTIME_PRESENCE_PENDING_MAX); dropped the oldest "
         "row");
  }
}

void LastSeenWriter::lookup(std::vector<std::string> user_ids, LookupDone done) {
  Lookup l{std::move(user_ids), std::move(done)};
  {
    std::lock_guard lock(mutex_);
    if (running_ && !stop_requested_) {
      lookups_.push_back(std::move(l));
      wake_.notify_one();
      return;
    }
  }
  answer(l, false);
}

void LastSeenWriter::answer(Lookup& l, bool query_database) {
  std::unordered_map<std::string, PresenceRow> found;
  if (query_database && db_->is_open()) {
    BusyMark busy(stats_);
    for (std::size_t at = 0; at < l.user_ids.size(); at += lookup_chunk) {
      std::vector<std::string> chunk(
          l.user_ids.begin() + static_cast<std::ptrdiff_t>(at),
          l.user_ids.begin() +
              static_cast<std::ptrdiff_t>(std::min(l.user_ids.size(), at + lookup_chunk)));
      auto result =
          db_->run(select_statement(db_->dialect(), options_.account_id, chunk), op_deadline());
      if (auto* err = std::get_if<DbError>(&result)) {
        warn("last-seen: lookup failed: " + err->message);
        if (!db_->is_open()) stats_.up = false;
        break;
      }
      for (const auto& r : std::get<Rows>(result)) {
        if (r.size() < 3) continue;
        PresenceRow row;
        row.user_id = r[0];
        row.status = parse_presence_status(r[1]).value_or(PresenceStatus::offline);
        if (db_->dialect() == SqlDialect::postgres) {
          std::int64_t ms = 0;
          auto [p, ec] = std::from_chars(r[2].data(), r[2].data() + r[2].size(), ms);
          if (ec != std::errc{}) continue;
          row.last_seen_ms = ms;
        } else {
          auto ms = parse_timestamp(r[2]);
          if (!ms) continue;
          row.last_seen_ms = *ms;
        }
        found[row.user_id] = std::move(row);
      }
    }
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : l.user_ids) {
      if (auto row = pending_.find(id)) found[id] = std::move(*row);
    }
  }
  std::vector<PresenceRow> out;
  out.reserve(found.size());
  for (auto& [id, row] : found) out.push_back(std::move(row));
  l.done(std::move(out));
}

std::optional<DbError> LastSeenWriter::upsert(const std::vector<PresenceRow>& rows,
                                              Deadline deadline) {
  auto error_of = [](std::variant<Rows, DbError> r) -> std::optional<DbError> {
    if (auto* err = std::get_if<DbError>(&r)) return std::move(*err);
    return std::nullopt;
  };
  // Postgres: one multi-row statement, one round trip. SQLite: no round trips, but it parses a
  // statement of N rows anew for every N; one kept single-row statement per row, in one
  // transaction, costs a few microseconds a row.
  if (db_->dialect() == SqlDialect::postgres || rows.size() == 1) {
    return error_of(
        db_->run(upsert_statement(db_->dialect(), options_.account_id, rows), deadline));
  }
  if (auto err = error_of(db_->run({"BEGIN", {}, true}, deadline))) return err;
  std::vector<PresenceRow> one(1);
  for (const auto& row : rows) {
    one[0] = row;
    if (auto err = error_of(
            db_->run(upsert_statement(db_->dialect(), options_.account_id, one), deadline))) {
      return rollback(*err, deadline);
    }
  }
  if (auto err = error_of(db_->run({"COMMIT", {}, true}, deadline)))
    return rollback(*err, deadline);
  return std::nullopt;
}

DbError LastSeenWriter::rollback(DbError error, Deadline deadline) {
  // A transaction left open would swallow the one-row retries of a data error uncommitted: if
  // it can't be rolled back, the error becomes one that closes the connection (which does).
  if (std::holds_alternative<DbError>(db_->run({"ROLLBACK", {}, true}, deadline))) {
    error.data_error = false;
  }
  return error;
}

std::optional<DbError> LastSeenWriter::write(std::vector<PresenceRow>& batch, Deadline deadline) {
  auto err = upsert(batch, deadline);
  if (!err) {
    stats_.written.fetch_add(batch.size(), std::memory_order_relaxed);
    batch.clear();
    return std::nullopt;
  }
  if (!err->data_error) return err;
  // Some row is refused: write them one by one so one bad row costs only itself.
  std::vector<PresenceRow> left;
  std::size_t refused = 0;
  std::optional<DbError> outage;
  for (auto& row : batch) {
    if (outage) {
      left.push_back(std::move(row));
      continue;
    }
    if (auto e = upsert({row}, deadline)) {
      if (e->data_error) {
        ++refused;
        warn("last-seen: the database refused the row of a user: " + e->message);
      } else {
        outage = std::move(e);
        left.push_back(std::move(row));
      }
    } else {
      stats_.written.fetch_add(1, std::memory_order_relaxed);
    }
  }
  stats_.dropped.fetch_add(refused, std::memory_order_relaxed);
  batch = std::move(left);
  return outage;
}

void LastSeenWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    bool probe_due = false;
    for (;;) {
      const auto now = Clock::now();
      if (!lookups_.empty()) break;
      if (stop_requested_ && (pending_.empty() || now >= stop_deadline_)) break;
      // Stopping: no more gathering, only the retry backoff.
      const Deadline due = stop_requested_ ? retry_at_ : std::max(retry_at_, write_at_);
      if (!pending_.empty() && now >= due) break;
      probe_due = !stop_requested_ && now >= probe_at_;
      if (probe_due) break;
      auto until = pending_.empty() ? (stop_requested_ ? stop_deadline_ : probe_at_) : due;
      if (stop_requested_ && stop_deadline_ < until) until = stop_deadline_;
      if (!stop_requested_ && probe_at_ < until) until = probe_at_;
      wake_.wait_until(lock, until);
    }
    if (!lookups_.empty()) {
      std::vector<Lookup> lookups = std::move(lookups_);
      lookups_.clear();
      lock.unlock();
      for (auto& l : lookups) answer(l, true);
      lock.lock();
      continue;
    }
    if (stop_requested_ && (pending_.empty() || Clock::now() >= stop_deadline_)) break;
    if (probe_due) {
      probe_at_ = Clock::now() + options_.probe_interval;
      lock.unlock();
      const bool reconnected = probe();
      lock.lock();
      // Back after an outage: what waits goes now, not after the rest of the backoff.
      if (reconnected) {
        backoff_.reset();
        retry_at_ = {};
      }
      continue;
    }

    std::vector<PresenceRow> batch = pending_.take(options_.batch_max);
    write_at_ = {};  // what is left over batch_max goes next, at once
    stats_.pending.store(static_cast<std::int64_t>(pending_.size()), std::memory_order_relaxed);
    const Deadline deadline = op_deadline();
    lock.unlock();
    std::optional<DbError> error;
    {
      BusyMark busy(stats_);
      error = ensure_open(deadline);
      if (!error) error = write(batch, deadline);  // leaves in `batch` what was not written
    }
    lock.lock();
    if (!error) {
      if (backoff_.attempts() > 0) spdlog::info("database: writing again");
      backoff_.reset();
      retry_at_ = {};
      stats_.up = true;
    } else {
      const std::size_t dropped = pending_.restore(std::move(batch));
      stats_.dropped.fetch_add(dropped, std::memory_order_relaxed);
      stats_.write_failures.fetch_add(1, std::memory_order_relaxed);
      stats_.up = false;
      db_->close();  // a fresh connection for the retry
      const auto delay = backoff_.next();
      retry_at_ = Clock::now() + delay;
      const std::size_t waiting = pending_.size();
      lock.unlock();
      warn("database: write failed (" + error->message + "); " + std::to_string(waiting) +
           " rows waiting, retrying in " + std::to_string(delay.count()) + " ms");
      lock.lock();
    }
    stats_.pending.store(static_cast<std::int64_t>(pending_.size()), std::memory_order_relaxed);
  }
  finished_ = true;
  finished_cv_.notify_all();
}

std::size_t LastSeenWriter::stop(Deadline deadline) {
  std::unique_lock lock(mutex_);
  if (!running_) return pending_.size();
  if (!stop_requested_) {
    stop_requested_ = true;
    stop_deadline_ = deadline;
  }
  wake_.notify_one();
  // A write that began before the stop may run past the deadline: cut it short.
  if (!finished_cv_.wait_until(lock, deadline + std::chrono::milliseconds(200),
                               [&] { return finished_; })) {
    db_->interrupt();
  }
  lock.unlock();
  thread_.join();
  lock.lock();
  running_ = false;
  std::vector<Lookup> lookups = std::move(lookups_);
  lookups_.clear();
  const std::size_t left = pending_.size();
  lock.unlock();
  for (auto& l : lookups) answer(l, false);
  db_->close();
  stats_.up = false;
  if (left > 0) {
    spdlog::warn("last-seen: {} rows could not be written before shutdown", left);
  } else {
    spdlog::info("last-seen: every row written");
  }
  return left;
}

}  // namespace realtime::storage
