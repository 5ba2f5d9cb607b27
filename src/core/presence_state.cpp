#include "core/presence_state.hpp"

#include <algorithm>

namespace realtime {

// Views: Connection::user_id and the members of topics_' sets are users_' keys; the topics of
// Connection and User are topics_' keys. A user's entry lives while they have a connection, so
// as long as any view of its key. A topic's entry lives while a user is present in it, and a
// connection or user holds a topic only while present in it.

PresenceStatus PresenceState::User::folded() const {
  for (int s = 3; s > 0; --s) {
    if (status_counts[s] > 0) return static_cast<PresenceStatus>(s);
  }
  return PresenceStatus::offline;
}

std::pair<std::string_view, int>* PresenceState::User::find(std::string_view topic) {
  auto it = std::find_if(topics.begin(), topics.end(),
                         [topic](const auto& entry) { return entry.first == topic; });
  return it == topics.end() ? nullptr : &*it;
}

const std::pair<std::string_view, int>* PresenceState::User::find(std::string_view topic) const {
  return const_cast<User*>(this)->find(topic);
}

void PresenceState::connect(std::string_view connection_id, std::string_view user_id,
                            PresenceStatus status) {
  if (status == PresenceStatus::offline) status = PresenceStatus::online;
  if (connections_.find(connection_id) != connections_.end()) return;
  auto user = users_.try_emplace(std::string(user_id)).first;
  Connection& conn = connections_.try_emplace(std::string(connection_id)).first->second;
  conn.user_id = user->first;
  conn.status = status;
  ++user->second.status_counts[static_cast<int>(status)];
  // A connection that joined no topic yet is in no topic, so nobody sees a change.
}

std::vector<PresenceChange> PresenceState::set_status(std::string_view connection_id,
                                                      PresenceStatus status) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end() || status == PresenceStatus::offline || c->second.status == status) {
    return out;
  }
  User& user = users_.find(c->second.user_id)->second;
  const PresenceStatus before = user.folded();
  --user.status_counts[static_cast<int>(c->second.status)];
  ++user.status_counts[static_cast<int>(status)];
  c->second.status = status;
  status_moved(user, c->second.user_id, before, out);
  return out;
}

std::vector<PresenceChange> PresenceState::join(std::string_view connection_id,
                                                std::string_view topic) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  Connection& conn = c->second;
  if (std::find(conn.topics.begin(), conn.topics.end(), topic) != conn.topics.end()) return out;
  auto t = topics_.try_emplace(std::string(topic)).first;
  const std::string_view key = t->first;
  conn.topics.push_back(key);
  User& user = users_.find(conn.user_id)->second;
  if (auto* entry = user.find(key)) {
    ++entry->second;
    return out;
  }
  user.topics.emplace_back(key, 1);
  t->second.insert(conn.user_id);
  out.push_back(
      {std::string(conn.user_id), std::string(key), PresenceStatus::offline, user.folded()});
  return out;
}

std::vector<PresenceChange> PresenceState::leave(std::string_view connection_id,
                                                 std::string_view topic) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  auto& topics = c->second.topics;
  auto t = std::find(topics.begin(), topics.end(), topic);
  if (t == topics.end()) return out;
  const std::string_view key = *t;
  *t = topics.back();
  topics.pop_back();
  User& user = users_.find(c->second.user_id)->second;
  leave_topic(user, c->second.user_id, key, user.folded(), out);
  return out;
}

std::vector<PresenceChange> PresenceState::disconnect(std::string_view connection_id) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  Connection conn = std::move(c->second);
  connections_.erase(c);

  auto u = users_.find(conn.user_id);
  User& user = u->second;
  const PresenceStatus before = user.folded();
  for (std::string_view topic : conn.topics) leave_topic(user, conn.user_id, topic, before, out);
  --user.status_counts[static_cast<int>(conn.status)];
  if (user.connections() == 0) {
    users_.erase(u);  // conn.user_id dangles from here on
    return out;
  }
  status_moved(user, conn.user_id, before, out);
  return out;
}

void PresenceState::leave_topic(User& user, std::string_view user_id, std::string_view topic,
                                PresenceStatus status, std::vector<PresenceChange>& out) {
  auto* entry = user.find(topic);
  if (entry == nullptr || --entry->second > 0) return;
  // The change copies the names first: `topic` may be the key erased below.
  out.push_back({std::string(user_id), std::string(topic), status, PresenceStatus::offline});
  *entry = user.topics.back();
  user.topics.pop_back();
  auto t = topics_.find(topic);
  if (t != topics_.end()) {
    t->second.erase(user_id);
    if (t->second.empty()) topics_.erase(t);
  }
}

void PresenceState::status_moved(const User& user, std::string_view user_id, PresenceStatus before,
                                 std::vector<PresenceChange>& out) {
  const PresenceStatus after = user.folded();
  if (after == before) return;
  for (const auto& [topic, count] : user.topics) {
    out.push_back({std::string(user_id), std::string(topic), before, after});
  }
}

std::vector<UserPresence> PresenceState::users_in(std::string_view topic) const {
  std::vector<UserPresence> out;
  auto t = topics_.find(topic);
  if (t == topics_.end()) return out;
  out.reserve(t->second.size());
  for (std::string_view user_id : t->second) {
    const User& user = users_.find(user_id)->second;
    out.push_back({std::string(user_id), user.folded(), user.find(topic)->second, std::nullopt});
  }
  return out;
}

PresenceStatus PresenceState::status_of(std::string_view user_id) const {
  auto u = users_.find(user_id);
  return u == users_.end() ? PresenceStatus::offline : u->second.folded();
}

UserSummary PresenceState::summary_of(std::string_view user_id) const {
  auto u = users_.find(user_id);
  if (u == users_.end()) return {};
  return {u->second.folded(), u->second.connections()};
}

std::vector<std::string> PresenceState::users() const {
  std::vector<std::string> out;
  out.reserve(users_.size());
  for (const auto& [user_id, user] : users_) out.push_back(user_id);
  return out;
}

std::string PresenceState::user_of(std::string_view connection_id) const {
  auto c = connections_.find(connection_id);
  return c == connections_.end() ? std::string() : std::string(c->second.user_id);
}

}  // namespace realtime
