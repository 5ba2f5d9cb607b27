#include "auth/checks/sql_check.hpp"

#include <spdlog/spdlog.h>

namespace realtime {
namespace {

// Questions waiting for a connection; beyond, a check answers unavailable at once.
constexpr std::size_t max_queued = 10000;

storage::Statement statement_for(const CheckRequest& request, storage::SqlDialect dialect) {
  storage::Statement st;
  st.sql = positional_sql(request.spec.text, request.spec.variables, dialect);
  for (const auto& name : request.spec.variables) {
    const std::string* value = find_param(request.params, name);
    st.params.push_back(value != nullptr ? *value : std::string());
  }
  st.reuse = true;  // the same few statements, again and again
  return st;
}

}  // namespace

SqlCheckRunner::SqlCheckRunner(storage::DatabaseUrl url, std::size_t connections)
    : url_(std::move(url)), connections_(std::max<std::size_t>(1, connections)) {}

SqlCheckRunner::~SqlCheckRunner() { stop(); }

void SqlCheckRunner::start() {
  for (std::size_t i = 0; i < connections_; ++i) threads_.emplace_back([this] { work(); });
}

void SqlCheckRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Whoever still waits gets an answer.
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (auto& job : left) job.done({CheckOutcome::unavailable, "server shutting down"});
}

std::optional<std::string> SqlCheckRunner::validate(const AccessRules& rules,
                                                    std::chrono::milliseconds timeout,
                                                    std::string* unreachable) const {
  bool any = false;
  for (const auto& c : rules.checks()) any = any || c.kind == CheckSpec::Kind::sql;
  if (!any) return std::nullopt;
  auto db = storage::make_database(url_);
  if (!db) return std::string("sql checks need DATABASE_URL");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (auto err = db->open(deadline)) {
    if (unreachable != nullptr) *unreachable = err->message;
    return std::nullopt;
  }
  for (const auto& c : rules.checks()) {
    if (c.kind != CheckSpec::Kind::sql) continue;
    const std::string sql = positional_sql(c.text, c.variables, db->dialect());
    if (auto err = db->prepare(sql, deadline)) {
      std::string users;
      for (const auto& match : rules.rules_using(c.name)) {
        users += (users.empty() ? "" : ", ") + ("\"" + match + "\"");
      }
      return "check \"" + c.name + "\" (used by " + (users.empty() ? "no rule" : users) +
             "): the SQL does not prepare on " + url_.describe() + ": " + err->message;
    }
  }
  return std::nullopt;
}

void SqlCheckRunner::run(CheckRequest request, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + request.spec.timeout;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < max_queued) {
      queue_.push_back(Job{std::move(request), std::move(done), deadline});
      wake_.notify_one();
      return;
    }
  }
  done({CheckOutcome::unavailable, "too many sql checks waiting"});
}

void SqlCheckRunner::work() {
  auto db = storage::make_database(url_);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.done(ask(*db, job));
  }
}

CheckResult SqlCheckRunner::ask(storage::Database& db, const Job& job) {
  if (std::chrono::steady_clock::now() >= job.deadline) {
    return {CheckOutcome::unavailable, "timed out waiting for a database connection"};
  }
  if (!db.is_open()) {
    if (auto err = db.open(job.deadline)) {
      return {CheckOutcome::unavailable, "database: " + err->message};
    }
  }
  auto result = db.run(statement_for(job.request, db.dialect()), job.deadline);
  if (auto* err = std::get_if<storage::DbError>(&result)) {
    // A value that cannot be compared with the column (a topic id that is not a uuid, ...)
    // matches no row; anything else says nothing about the subject.
    if (err->data_error) return {CheckOutcome::deny, "no row (" + err->message + ")"};
    return {CheckOutcome::unavailable, "database: " + err->message};
  }
  if (std::get<storage::Rows>(result).empty()) return {CheckOutcome::deny, "no row"};
  return {CheckOutcome::allow, {}};
}

}  // namespace realtime
