#include "net/shard.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <climits>

#include "client/client_session.hpp"
#include "net/ws_stream.hpp"
#include "protocol/error_code.hpp"
#include "server/server_context.hpp"
#include "util/clock.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

// Handlers run per loop turn before the corked sessions are flushed: enough to gather a burst of
// batches into one write per session, few enough that a flood of input can't hold writes back
// for long.
constexpr int max_handlers_per_turn = 1024;

// Whether `session` has a mailbox and `user` (a topic's, if it is a user's own) is its user.
bool own_mailbox(const ClientSession* session, std::optional<std::string_view> user) {
  return user && session->mailbox() && *user == session->user_id();
}

}  // namespace

Shard::Shard(std::size_t index, ServerContext& context)
    : index_(index),
      context_(context),
      counters_(context.metrics->shard(index)),
      iovecs_(IOV_MAX),
      work_(net::make_work_guard(io_)),
      sweep_timer_(io_),
      recheck_timer_(io_) {}

Shard::~Shard() {
  stop();
  join();
}

void Shard::start() {
  schedule_heartbeat_sweep();
  thread_ = std::thread([this] {
    try {
      run_loop();
    } catch (const std::exception& e) {
      // Handlers don't throw by design; if one does, the process must not limp on half-dead.
      spdlog::critical("shard {} stopped by an exception: {}", index_, e.what());
      std::abort();
    }
  });
}

const FramePtr& Shard::deflated(const LazyFrame& slot, const FramePtr& plain) {
  return slot.get([&]() -> FramePtr {
    std::string out;
    if (!ws::deflate_frame(deflater_, *plain, context_.config->compression_min_bytes, out)) {
      return plain;
    }
    return std::make_shared<const std::string>(std::move(out));
  });
}

void Shard::stop() {
  work_.reset();
  io_.stop();
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::run_loop() {
  // run_one() blocks for the first handler; poll_one() then runs what is ready without blocking
  // (the reactor is polled too, once per pass over the queue). Returns when the loop is stopped.
  while (io_.run_one() > 0) {
    for (int i = 1; i < max_handlers_per_turn && io_.poll_one() > 0; ++i) {
    }
    flush_corked();
  }
}

void Shard::deliver(std::shared_ptr<const FrameBatch> batch) {
  net::post(io_, [this, batch = std::move(batch)] { on_deliver(batch); });
}

template <typename F>
void Shard::for_each_recipient(std::string_view topic, Reach reach, F&& f) const {
  // A mailbox is how its session gets its own topic, subscribed to it or not: a subscription
  // made later is live only once Redis confirms it, the pattern already is.
  const auto user = mailboxes_ > 0 ? mailbox_user(topic) : std::nullopt;
  if (reach != Reach::mailboxes) {
    if (const auto* subscribers = registry_.subscribers(topic)) {
      if (!user) {
        for (ClientSession* s : *subscribers) f(s);
      } else {
        for (ClientSession* s : *subscribers) {
          if (!own_mailbox(s, user)) f(s);
        }
      }
    }
  }
  if (reach == Reach::subscribers || !user) return;
  auto it = users_.find(*user);
  if (it == users_.end()) return;
  for (ClientSession* s = it->second; s != nullptr; s = s->shard_links().next_of_user) {
    if (s->mailbox()) f(s);
  }
}

void Shard::on_deliver(const std::shared_ptr<const FrameBatch>& batch) {
  // deliver() queues (and writes at once only a queue that reached its bound); it never changes
  // the registry, the user index or ends a session synchronously, so walking them while sending
  // is safe.
  for (const auto& item : *batch) {
    if (item.exclude_connection.empty() && !item.earlier_rooms) {
      for_each_recipient(item.topic, item.reach,
                         [&](ClientSession* session) { session->offer(item, batch); });
      continue;
    }
    for_each_recipient(item.topic, item.reach, [&](ClientSession* session) {
      if (!item.exclude_connection.empty() && session->connection_id() == item.exclude_connection) {
        return;
      }
      // A broadcast to several rooms reaches a connection through the first of them it is in.
      if (item.earlier_rooms && reached_earlier(session, *item.earlier_rooms)) return;
      session->offer(item, batch);
    });
  }
}

bool Shard::receives(ClientSession* session, std::string_view topic) const {
  return registry_.is_subscribed(session, topic) || own_mailbox(session, mailbox_user(topic));
}

bool Shard::reached_earlier(ClientSession* session, const std::vector<std::string>& rooms) const {
  for (const auto& room : rooms) {
    if (receives(session, room)) return true;
  }
  return false;
}

void Shard::flush_corked() {
  // A flush never corks again (a write that can't finish waits for the socket instead), but
  // swap anyway: the vector must not change while it is walked.
  flushing_.swap(corked_);
  for (const auto& c : flushing_) c.stream->flush();
  flushing_.clear();
}

void Shard::close_all(unsigned short code) {
  net::post(io_, [this, code] {
    // close() does not detach synchronously, but copy anyway: the set is not ours to iterate
    // while sessions change it.
    for (ClientSession* s : tracked_sessions()) s->close(code, "server shutting down");
  });
}

void Shard::track(ClientSession* session) {
  auto& links = session->shard_links();
  if (links.prev != nullptr || sessions_ == session) return;  // tracked already
  links.next = sessions_;
  if (sessions_ != nullptr) sessions_->shard_links().prev = session;
  sessions_ = session;
}

void Shard::untrack(ClientSession* session) {
  auto& links = session->shard_links();
  if (links.prev == nullptr && sessions_ != session) return;  // not tracked
  if (links.prev != nullptr) {
    links.prev->shard_links().next = links.next;
  } else {
    sessions_ = links.next;
  }
  if (links.next != nullptr) links.next->shard_links().prev = links.prev;
  links.prev = links.next = nullptr;
}

std::vector<ClientSession*> Shard::tracked_sessions() const {
  std::vector<ClientSession*> out;
  for (ClientSession* s = sessions_; s != nullptr; s = s->shard_links().next) out.push_back(s);
  return out;
}

void Shard::attach_user(ClientSession* session) {
  auto [it, first] = users_.try_emplace(std::string_view(session->user_id()), session);
  if (first) return;
  // After the first: the key keeps viewing the first session's user id.
  session->shard_links().next_of_user = it->second->shard_links().next_of_user;
  it->second->shard_links().next_of_user = session;
}

void Shard::detach_user(ClientSession* session) {
  auto it = users_.find(std::string_view(session->user_id()));
  if (it == users_.end()) return;
  ClientSession* next = session->shard_links().next_of_user;
  session->shard_links().next_of_user = nullptr;
  if (it->second == session) {
    if (next == nullptr) {
      users_.erase(it);
      return;
    }
    // The key views this session's user id: re-key the node on the next one (no allocation).
    auto node = users_.extract(it);
    node.key() = std::string_view(next->user_id());
    node.mapped() = next;
    users_.insert(std::move(node));
    return;
  }
  for (ClientSession* s = it->second; s != nullptr; s = s->shard_links().next_of_user) {
    if (s->shard_links().next_of_user == session) {
      s->shard_links().next_of_user = next;
      return;
    }
  }
}

void Shard::mailboxes_refused() {
  net::post(io_, [this] {
    for (ClientSession* s : tracked_sessions()) s->subscribe_instead_of_mailbox();
  });
}

void Shard::open_mailbox() {
  if (mailboxes_++ == 0) context_.broker->mailboxes_changed(index_, true);
}

void Shard::close_mailbox() {
  // After the shards stopped the broker may be gone (ClientSession::end()).
  if (--mailboxes_ == 0 && !context_.stopped.load()) {
    context_.broker->mailboxes_changed(index_, false);
  }
}

void Shard::apply(UserCommand command, std::function<void(std::size_t)> done) {
  net::post(io_, [this, command = std::move(command), done = std::move(done)] {
    std::size_t affected = 0;
    auto it = users_.find(std::string_view(command.user_id));
    if (it != users_.end()) {
      // A copy: closing or leaving does not detach synchronously, but the list is not ours.
      std::vector<ClientSession*> sessions;
      for (ClientSession* s = it->second; s != nullptr; s = s->shard_links().next_of_user)
        sessions.push_back(s);
      for (ClientSession* s : sessions) {
        switch (command.kind) {
          case UserCommand::Kind::subscribe:
            affected += s->server_subscribe(command.topic) ? 1 : 0;
            break;
          case UserCommand::Kind::unsubscribe:
            affected += s->server_unsubscribe(command.topic, "removed") ? 1 : 0;
            break;
          case UserCommand::Kind::disconnect:
            if (!s->closing()) {
              ++affected;
              s->close(close_code::disconnected,
                       command.reason.empty() ? "disconnected by the server" : command.reason);
            }
            break;
        }
      }
    }
    if (done) done(affected);
  });
}

void Shard::count_subscribers(std::shared_ptr<const std::vector<std::string>> rooms,
                              std::function<void(std::size_t)> done) {
  net::post(io_, [this, rooms = std::move(rooms), done = std::move(done)] {
    std::size_t count = 0;
    std::vector<std::string> earlier;
    for (const auto& room : *rooms) {
      for_each_recipient(room, Reach::all,
                         [&](ClientSession* s) { count += reached_earlier(s, earlier) ? 0 : 1; });
      earlier.push_back(room);
    }
    done(count);
  });
}

Shard::RecheckQueue::iterator Shard::schedule_recheck(std::chrono::steady_clock::time_point due,
                                                      ClientSession* session, std::string topic) {
  auto entry = rechecks_.emplace(due, std::make_pair(session, std::move(topic)));
  arm_recheck_timer();
  return entry;
}

void Shard::arm_recheck_timer() {
  if (rechecks_.empty()) return;
  // Due rechecks are gathered: one wake-up for all that fall due within a second.
  const auto due = std::max(rechecks_.begin()->first, std::chrono::steady_clock::now()) +
                   std::chrono::milliseconds(100);
  if (due >= recheck_armed_for_) return;
  recheck_armed_for_ = due;
  recheck_timer_.expires_at(due);
  recheck_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    on_recheck_timer();
  });
}

void Shard::on_recheck_timer() {
  recheck_armed_for_ = std::chrono::steady_clock::time_point::max();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!rechecks_.empty() && rechecks_.begin()->first <= until) {
    auto [session, topic] = std::move(rechecks_.begin()->second);
    rechecks_.erase(rechecks_.begin());
    session->recheck_due(topic);
  }
  arm_recheck_timer();
}

void Shard::schedule_heartbeat_sweep() {
  // A quarter of the heartbeat, at most 5 s: a silent client is closed between 2x and 2.25x.
  // In milliseconds before dividing: seconds(3) / 4 truncates to 0 and the timer would spin.
  const std::chrono::milliseconds heartbeat =
      std::chrono::seconds(context_.config->heartbeat_seconds);
  const auto interval = std::clamp<std::chrono::milliseconds>(
      heartbeat / 4, std::chrono::milliseconds(100), std::chrono::milliseconds(5000));
  sweep_timer_.expires_after(interval);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    on_heartbeat_sweep();
    schedule_heartbeat_sweep();
  });
}

void Shard::on_heartbeat_sweep() {
  const auto now = std::chrono::steady_clock::now();
  const std::int64_t now_ms = unix_millis();
  for (ClientSession* s : tracked_sessions()) s->sweep(now, now_ms);
}

}  // namespace realtime
