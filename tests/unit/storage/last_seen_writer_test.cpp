// The writer thread against a scripted in-memory database: batching, coalescing, outages,
// refused rows, bounded pending rows and shutdown.
#include "storage/last_seen_writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "storage/sqlite_database.hpp"

namespace realtime::storage {
namespace {

using namespace std::chrono_literals;

// Stores upserted rows in a map; can be down, failing, refusing a user, or hanging.
class FakeDatabase final : public Database {
 public:
  struct State {
    std::mutex mutex;
    bool down = false;         // open() fails
    int fail_next_writes = 0;  // upserts that fail (not data errors)
    std::string refused_user;  // any upsert containing this user is a data error
    bool hang = false;         // run() blocks until interrupt()
    bool broken = false;       // every run() fails like a connection the server dropped
    std::map<std::string, PresenceRow> rows;
    std::vector<std::size_t> upsert_sizes;
    int migrations_recorded = 0;
    int version_queries = 0;  // by migrate() and by the health probe
    std::atomic<bool> interrupted{false};
  };

  explicit FakeDatabase(std::shared_ptr<State> state) : s_(std::move(state)) {}
  SqlDialect dialect() const override { return SqlDialect::postgres; }
  DatabaseKind kind() const override { return DatabaseKind::postgres; }
  bool is_open() const override { return open_; }
  void close() override { open_ = false; }
  void interrupt() override { s_->interrupted = true; }

  std::optional<DbError> open(Deadline) override {
    std::lock_guard lock(s_->mutex);
    if (s_->down) return DbError{"connection refused", false};
    open_ = true;
    return std::nullopt;
  }

  std::optional<DbError> prepare(const std::string&, Deadline) override { return std::nullopt; }

  std::variant<Rows, DbError> run(const Statement& st, Deadline) override {
    while (hanging()) {
      if (s_->interrupted) return DbError{"interrupted", false};
      std::this_thread::sleep_for(5ms);
    }
    std::lock_guard lock(s_->mutex);
    if (!open_) return DbError{"not connected", false};
    if (s_->broken) return DbError{"server closed the connection unexpectedly", false};
    if (st.sql.starts_with("INSERT INTO np_realtime_presence")) {
      if (s_->fail_next_writes > 0) {
        --s_->fail_next_writes;
        return DbError{"server closed the connection unexpectedly", false};
      }
      std::vector<PresenceRow> rows;
      for (std::size_t i = 1; i + 3 < st.params.size(); i += 4) {
        PresenceRow r;
        r.user_id = st.params[i];
        r.status = *parse_presence_status(st.params[i + 1]);
        r.last_seen_ms = *parse_timestamp(st.params[i + 2]);
        r.connections = std::stoi(st.params[i + 3]);
        if (r.user_id == s_->refused_user) return DbError{"value too long", true};
        rows.push_back(r);
      }
      for (auto& r : rows) s_->rows[r.user_id] = r;
      s_->upsert_sizes.push_back(rows.size());
      return Rows{};
    }
    if (st.sql.starts_with("SELECT user_id")) {
      Rows out;
      for (std::size_t i = 1; i < st.params.size(); ++i) {
        auto it = s_->rows.find(st.params[i]);
        if (it == s_->rows.end()) continue;
        out.push_back({it->first, std::string(to_string(it->second.status)),
                       std::to_string(it->second.last_seen_ms)});
      }
      return out;
    }
    if (st.sql.find("COALESCE(MAX(version)") != std::string::npos) {
      ++s_->version_queries;
      return Rows{{std::to_string(s_->migrations_recorded)}};
    }
    if (st.sql.starts_with("INSERT INTO np_realtime_schema_migrations")) {
      ++s_->migrations_recorded;
    }
    return Rows{};
  }

 private:
  bool hanging() {
    std::lock_guard lock(s_->mutex);
    return s_->hang;
  }
  std::shared_ptr<State> s_;
  bool open_ = false;
};

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

class LastSeenWriterTest : public ::testing::Test {
 protected:
  std::unique_ptr<LastSeenWriter> make(WriterOptions options = {}) {
    options.retry_initial = 5ms;
    options.retry_cap = 20ms;
    // Probes every 20 ms unless a test says otherwise; the tests that count statements don't
    // mind them (a probe only reads the schema version).
    if (options.probe_interval == WriterOptions{}.probe_interval) options.probe_interval = 20ms;
    return std::make_unique<LastSeenWriter>(std::make_unique<FakeDatabase>(db), options, stats);
  }
  template <typename F>
  auto with_db(F f) {
    std::lock_guard lock(db->mutex);
    return f(*db);
  }
  std::size_t stored() {
    return with_db([](auto& s) { return s.rows.size(); });
  }
  static PresenceRow row(std::string user, PresenceStatus status, std::int64_t ms, int n = 0) {
    return {std::move(user), status, ms, n};
  }

  std::shared_ptr<FakeDatabase::State> db = std::make_shared<FakeDatabase::State>();
  WriterStats stats;
};

TEST_F(LastSeenWriterTest, StartMigratesAndMarksTheDatabaseUp) {
  auto w = make();
  EXPECT_FALSE(w->start());
  EXPECT_TRUE(stats.up);
  EXPECT_EQ(stats.kind, "postgres");
  EXPECT_EQ(with_db([](auto& s) { return s.migrations_recorded; }), 1);
}

TEST_F(LastSeenWriterTest, RowsGatheredMeanwhileGoInOneUpsertCoalescedByUser) {
  auto w = make();
  for (int i = 0; i < 300; ++i) {
    w->record(row("u" + std::to_string(i), PresenceStatus::online, 1000 + i, 1));
  }
  w->record(row("u7", PresenceStatus::offline, 5000, 0));  // latest wins
  ASSERT_FALSE(w->start());
  ASSERT_TRUE(wait_until([&] { return stored() == 300; }));
  EXPECT_EQ(with_db([](auto& s) { return s.upsert_sizes; }), std::vector<std::size_t>{300});
  EXPECT_EQ(with_db([](auto& s) { return s.rows.at("u7"); }),
            row("u7", PresenceStatus::offline, 5000, 0));
  EXPECT_TRUE(wait_until([&] { return stats.written == 300 && stats.pending == 0; }));
}

TEST_F(LastSeenWriterTest, BatchesAreCappedAtBatchMax) {
  WriterOptions o;
  o.batch_max = 100;
  auto w = make(o);
  for (int i = 0; i < 250; ++i) w->record(row("u" + std::to_string(i), PresenceStatus::away, i));
  ASSERT_FALSE(w->start());
  ASSERT_TRUE(wait_until([&] { return stored() == 250; }));
  EXPECT_EQ(with_db([](auto& s) { return s.upsert_sizes; }),
            (std::vector<std::size_t>{100, 100, 50}));
}

TEST_F(LastSeenWriterTest, DatabaseDownAtStartKeepsRowsAndWritesThemWhenItReturns) {
  with_db([](auto& s) { return s.down = true; });
  auto w = make();
  const auto err = w->start();
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "connection refused");
  for (int i = 0; i < 50; ++i) w->record(row("u" + std::to_string(i), PresenceStatus::offline, i));
  ASSERT_TRUE(wait_until([&] { return stats.write_failures >= 3; }));
  EXPECT_FALSE(stats.up);
  EXPECT_EQ(stats.pending.load(), 50);
  EXPECT_EQ(stored(), 0u);

  with_db([](auto& s) { return s.down = false; });
  ASSERT_TRUE(wait_until([&] { return stored() == 50; }));
  // The writer counts a batch after the database took it: wait for the count, not only the rows.
  EXPECT_TRUE(wait_until([&] { return stats.up && stats.pending == 0 && stats.written == 50; }));
  EXPECT_EQ(stats.written.load(), 50u);
  EXPECT_EQ(stats.dropped.load(), 0u);
}

TEST_F(LastSeenWriterTest, FailedWritesAreRetriedWithoutLosingOrReorderingRows) {
  auto w = make();
  ASSERT_FALSE(w->start());
  with_db([](auto& s) { return s.fail_next_writes = 3; });
  w->record(row("alice", PresenceStatus::online, 1, 1));
  ASSERT_TRUE(wait_until([&] { return stats.write_failures >= 1; }));
  w->record(row("alice", PresenceStatus::offline, 2, 0));  // newer than the failed row
  w->record(row("bob", PresenceStatus::dnd, 3, 1));
  ASSERT_TRUE(wait_until([&] { return stored() == 2 && stats.pending == 0; }));
  EXPECT_EQ(with_db([](auto& s) { return s.rows.at("alice"); }),
            row("alice", PresenceStatus::offline, 2, 0));
  EXPECT_EQ(stats.write_failures.load(), 3u);
}

TEST_F(LastSeenWriterTest, ARefusedRowCostsOnlyItself) {
  with_db([](auto& s) { return s.refused_user = "bad"; });
  auto w = make();
  w->record(row("a", PresenceStatus::offline, 1));
  w->record(row("bad", PresenceStatus::offline, 2));
  w->record(row("c", PresenceStatus::offline, 3));
  ASSERT_FALSE(w->start());
  ASSERT_TRUE(wait_until([&] { return stored() == 2 && stats.pending == 0; }));
  EXPECT_EQ(stats.dropped.load(), 1u);
  EXPECT_EQ(stats.written.load(), 2u);
  EXPECT_EQ(stats.write_failures.load(), 0u);
}

TEST_F(LastSeenWriterTest, PendingRowsAreBoundedByDistinctUsersDroppingTheOldest) {
  with_db([](auto& s) { return s.down = true; });
  WriterOptions o;
  o.pending_max = 10;
  auto w = make(o);
  w->start();
  for (int i = 0; i < 15; ++i) w->record(row("u" + std::to_string(i), PresenceStatus::offline, i));
  EXPECT_EQ(stats.dropped.load(), 5u);
  EXPECT_EQ(stats.pending.load(), 10);
  with_db([](auto& s) { return s.down = false; });
  ASSERT_TRUE(wait_until([&] { return stored() == 10; }));
  EXPECT_EQ(with_db([](auto& s) { return s.rows.count("u4") + s.rows.count("u5"); }), 1u);
}

TEST_F(LastSeenWriterTest, UnstorableUserIdsAreDroppedAtTheDoor) {
  auto w = make();
  w->record(row("", PresenceStatus::offline, 1));
  w->record(row(std::string(256, 'x'), PresenceStatus::offline, 1));
  w->record(row("\xff\xfe", PresenceStatus::offline, 1));
  EXPECT_EQ(stats.dropped.load(), 3u);
  EXPECT_EQ(stats.pending.load(), 0);
}

TEST_F(LastSeenWriterTest, StopWritesWhatIsPendingBeforeReturning) {
  auto w = make();
  ASSERT_FALSE(w->start());
  with_db([](auto& s) { return s.fail_next_writes = 1; });
  for (int i = 0; i < 20; ++i) w->record(row("u" + std::to_string(i), PresenceStatus::offline, i));
  EXPECT_EQ(w->stop(std::chrono::steady_clock::now() + 10s), 0u);
  EXPECT_EQ(stored(), 20u);
}

TEST_F(LastSeenWriterTest, StopWithTheDatabaseDownGivesUpAtTheDeadlineAndCountsTheRest) {
  with_db([](auto& s) { return s.down = true; });
  auto w = make();
  w->start();
  for (int i = 0; i < 7; ++i) w->record(row("u" + std::to_string(i), PresenceStatus::offline, i));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w->stop(t0 + 300ms), 7u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(LastSeenWriterTest, StopCutsShortAWriteThatHangs) {
  WriterOptions o;
  o.probe_interval = 1h;  // the write, not a probe, is what hangs
  auto w = make(o);
  ASSERT_FALSE(w->start());
  // The one probe at start is done before the database starts hanging.
  ASSERT_TRUE(wait_until([&] { return stats.probe_latency_us >= 0; }));
  with_db([](auto& s) { return s.hang = true; });
  w->record(row("alice", PresenceStatus::offline, 1));
  ASSERT_TRUE(wait_until([&] { return stats.pending == 0; }));  // taken: the write is running
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w->stop(t0 + 200ms), 1u);
  EXPECT_TRUE(db->interrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(LastSeenWriterTest, LookupReadsStoredRows) {
  auto w = make();
  ASSERT_FALSE(w->start());
  w->record(row("alice", PresenceStatus::offline, 1764262800123));
  ASSERT_TRUE(wait_until([&] { return stored() == 1; }));
  std::promise<std::vector<PresenceRow>> got;
  w->lookup({"alice", "nobody"}, [&](std::vector<PresenceRow> rows) { got.set_value(rows); });
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(future.get(),
            (std::vector<PresenceRow>{row("alice", PresenceStatus::offline, 1764262800123)}));
}

TEST_F(LastSeenWriterTest, LookupWithTheDatabaseDownAnswersFromPendingRows) {
  with_db([](auto& s) { return s.down = true; });
  auto w = make();
  w->start();
  w->record(row("bob", PresenceStatus::offline, 42));
  std::promise<std::vector<PresenceRow>> got;
  w->lookup({"bob", "carol"}, [&](std::vector<PresenceRow> rows) { got.set_value(rows); });
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(future.get(), (std::vector<PresenceRow>{row("bob", PresenceStatus::offline, 42)}));
}

TEST_F(LastSeenWriterTest, LookupAfterStopStillAnswers) {
  auto w = make();
  w->stop(std::chrono::steady_clock::now());
  bool called = false;
  w->lookup({"x"}, [&](std::vector<PresenceRow> rows) {
    called = true;
    EXPECT_TRUE(rows.empty());
  });
  EXPECT_TRUE(called);
}

TEST_F(LastSeenWriterTest, AnIdleWriterProbesSoAnOutageShowsWithoutAnyWrite) {
  auto w = make();
  ASSERT_FALSE(w->start());
  EXPECT_EQ(stats.migrations_expected, static_cast<int>(migrations(SqlDialect::postgres).size()));
  EXPECT_EQ(stats.migrations_applied.load(), stats.migrations_expected);
  ASSERT_TRUE(wait_until([&] { return stats.probe_latency_us >= 0; }));
  EXPECT_TRUE(stats.reachable());
  EXPECT_TRUE(stats.latency());

  // The server goes away; nobody connects or disconnects, so nothing is written.
  with_db([](auto& s) { return s.broken = s.down = true; });
  ASSERT_TRUE(wait_until([&] { return !stats.up; }));
  EXPECT_FALSE(stats.reachable());
  EXPECT_FALSE(stats.latency());
  EXPECT_EQ(stats.write_failures.load(), 0u);

  // Back: the probe reconnects on its own.
  with_db([](auto& s) { return s.broken = s.down = false; });
  ASSERT_TRUE(wait_until([&] { return stats.up && stats.probe_latency_us >= 0; }));
  EXPECT_EQ(stats.migrations_applied.load(), stats.migrations_expected);
}

TEST_F(LastSeenWriterTest, ProbesReportHowManyMigrationsTheDatabaseHas) {
  auto w = make();
  ASSERT_FALSE(w->start());
  // Someone rolls the schema back behind the server's back (e.g. the .down.sql).
  with_db([](auto& s) { return s.migrations_recorded = 0; });
  ASSERT_TRUE(wait_until([&] { return stats.migrations_applied == 0; }));
  EXPECT_GT(stats.migrations_expected, 0);
}

TEST_F(LastSeenWriterTest, ADatabaseThatHangsCountsAsDownAfterTheProbeTimeout) {
  WriterOptions o;
  o.probe_timeout = 50ms;
  auto w = make(o);
  ASSERT_FALSE(w->start());
  ASSERT_TRUE(wait_until([&] { return stats.probe_latency_us >= 0; }));
  with_db([](auto& s) { return s.hang = true; });
  // The probe's call never returns (this fake ignores deadlines): /health must not wait for it.
  ASSERT_TRUE(wait_until([&] { return !stats.reachable(); }));
  EXPECT_NE(stats.busy_since_ns.load(), 0);
  with_db([](auto& s) { return s.hang = false; });
  EXPECT_TRUE(wait_until([&] { return stats.reachable() && stats.busy_since_ns == 0; }));
}

TEST_F(LastSeenWriterTest, RowsWaitingForAnOutageGoWhenTheProbeSeesTheDatabaseBack) {
  // The write retry waits 30-60 s: only the probe can explain a write within seconds.
  WriterOptions o;
  o.retry_initial = 60s;
  o.retry_cap = 60s;
  o.probe_interval = 20ms;
  LastSeenWriter w(std::make_unique<FakeDatabase>(db), o, stats);
  with_db([](auto& s) { return s.down = true; });
  ASSERT_TRUE(w.start());
  w.record(row("alice", PresenceStatus::offline, 1));
  with_db([](auto& s) { return s.down = false; });
  EXPECT_TRUE(wait_until([&] { return stored() == 1; }, 10s));
}

TEST_F(LastSeenWriterTest, RowsGatherForTheWindowAndShutdownDoesNotWaitForIt) {
  WriterOptions o;
  o.gather = std::chrono::hours(1);
  auto w = make(o);
  ASSERT_FALSE(w->start());
  for (int i = 0; i < 100; ++i) w->record(row("u" + std::to_string(i), PresenceStatus::online, i));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(stored(), 0u);  // still gathering
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w->stop(t0 + 10s), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(with_db([](auto& s) { return s.upsert_sizes; }), std::vector<std::size_t>{100});
}

// The SQLite path (one kept single-row statement per row, in one transaction) on a real file.
class SqliteLastSeenWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rt-writer-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<LastSeenWriter> make() {
    WriterOptions o;
    o.gather = 1ms;
    o.batch_max = 100;
    o.retry_initial = 5ms;
    o.retry_cap = 20ms;
    return std::make_unique<LastSeenWriter>(std::make_unique<SqliteDatabase>(path()), o, stats);
  }
  std::string path() const { return dir_ + "/rt.db"; }
  // A second connection, as a reader (a backup, a person with sqlite3) would have.
  Rows query(const std::string& sql) {
    SqliteDatabase reader(path());
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    if (auto err = reader.open(deadline)) {
      ADD_FAILURE() << err->message;
      return {};
    }
    auto r = reader.run({sql, {}}, deadline);
    if (auto* err = std::get_if<DbError>(&r)) {
      ADD_FAILURE() << err->message;
      return {};
    }
    return std::get<Rows>(r);
  }
  std::size_t stored() {
    auto r = query("SELECT count(*) FROM np_realtime_presence");
    return r.empty() ? 0 : std::stoul(r[0][0]);
  }

  std::string dir_;
  WriterStats stats;
};

TEST_F(SqliteLastSeenWriterTest, EveryRowOfBatchesLargerThanBatchMaxIsStoredWithItsValues) {
  auto w = make();
  for (int i = 0; i < 250; ++i) {
    w->record({"u" + std::to_string(i), PresenceStatus::online, 1764262800000 + i, 1});
  }
  w->record({"u7", PresenceStatus::offline, 1764262900000, 0});  // latest wins
  ASSERT_FALSE(w->start());                                      // then batches of 100, 100 and 50
  ASSERT_TRUE(wait_until([&] { return stats.written == 250 && stats.pending == 0; }));
  EXPECT_EQ(stored(), 250u);
  EXPECT_EQ(query("SELECT status, last_seen_at, connections FROM np_realtime_presence "
                  "WHERE user_id = 'u7'"),
            (Rows{{"offline", "2025-11-27T17:01:40.000Z", "0"}}));
  EXPECT_EQ(query("SELECT status, last_seen_at FROM np_realtime_presence WHERE user_id = 'u249'"),
            (Rows{{"online", "2025-11-27T17:00:00.249Z"}}));
  // The same users again: updated in place, none added.
  for (int i = 0; i < 250; ++i) {
    w->record({"u" + std::to_string(i), PresenceStatus::away, 1764263000000 + i, 2});
  }
  ASSERT_TRUE(wait_until([&] { return stats.written == 500 && stats.pending == 0; }));
  EXPECT_EQ(stored(), 250u);
  EXPECT_EQ(query("SELECT count(*) FROM np_realtime_presence WHERE status = 'away' AND "
                  "connections = 2"),
            (Rows{{"250"}}));
  EXPECT_EQ(w->stop(std::chrono::steady_clock::now() + 10s), 0u);
}

TEST_F(SqliteLastSeenWriterTest, ARowRefusedInsideTheTransactionCostsOnlyItself) {
  {
    auto w = make();
    ASSERT_FALSE(w->start());  // creates the table
    w->stop(std::chrono::steady_clock::now() + 10s);
  }
  // A constraint the schema doesn't have: the database refuses one user's row mid-transaction.
  {
    SqliteDatabase admin(path());
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    ASSERT_FALSE(admin.open(deadline));
    auto r = admin.run({"CREATE TRIGGER refuse_bad BEFORE INSERT ON np_realtime_presence "
                        "WHEN NEW.user_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END",
                        {}},
                       deadline);
    ASSERT_TRUE(std::holds_alternative<Rows>(r)) << std::get<DbError>(r).message;
  }
  auto w = make();
  // Recorded before the start: one batch of three, so the refusal happens mid-transaction.
  w->record({"a", PresenceStatus::offline, 1, 0});
  w->record({"bad", PresenceStatus::offline, 2, 0});
  w->record({"c", PresenceStatus::offline, 3, 0});
  ASSERT_FALSE(w->start());
  ASSERT_TRUE(wait_until([&] { return stats.written + stats.dropped == 3 && stats.pending == 0; }));
  EXPECT_EQ(stats.written.load(), 2u);
  EXPECT_EQ(stats.dropped.load(), 1u);
  EXPECT_EQ(stats.write_failures.load(), 0u);
  EXPECT_EQ(query("SELECT user_id FROM np_realtime_presence ORDER BY user_id"),
            (Rows{{"a"}, {"c"}}));
}

}  // namespace
}  // namespace realtime::storage
