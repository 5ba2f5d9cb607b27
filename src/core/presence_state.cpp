#include "core/presence_state.hpp"

namespace realtime {

PresenceStatus PresenceState::User::folded() const {
  for (int s = 3; s > 0; --s) {
    if (status_counts[s] > 0) return static_cast<PresenceStatus>(s);
  }
  return PresenceStatus::offline;
}

void PresenceState::connect(std::string_view connection_id, std::string_view user_id,
                            PresenceStatus status) {
  if (status == PresenceStatus::offline) status = PresenceStatus::online;
  auto [it, inserted] = connections_.try_emplace(std::string(connection_id),
                                                 Connection{std::string(user_id), status, {}});
  if (!inserted) return;
  User& user = users_[std::string(user_id)];
  ++user.connections;
  ++user.status_counts[static_cast<int>(status)];
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
  if (c == connections_.end() || !c->second.topics.emplace(topic).second) return out;
  User& user = users_.find(c->second.user_id)->second;
  int& count = user.topics[std::string(topic)];
  if (++count == 1) {
    topics_[std::string(topic)].emplace(c->second.user_id);
    out.push_back({c->second.user_id, std::string(topic), PresenceStatus::offline, user.folded()});
  }
  return out;
}

std::vector<PresenceChange> PresenceState::leave(std::string_view connection_id,
                                                 std::string_view topic) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  auto t = c->second.topics.find(topic);
  if (t == c->second.topics.end()) return out;
  c->second.topics.erase(t);
  User& user = users_.find(c->second.user_id)->second;
  leave_topic(user, c->second.user_id, topic, user.folded(), out);
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
  for (const auto& topic : conn.topics) leave_topic(user, conn.user_id, topic, before, out);
  --user.connections;
  --user.status_counts[static_cast<int>(conn.status)];
  if (user.connections == 0) {
    users_.erase(u);
    return out;
  }
  status_moved(user, conn.user_id, before, out);
  return out;
}

void PresenceState::leave_topic(User& user, std::string_view user_id, std::string_view topic,
                                PresenceStatus status, std::vector<PresenceChange>& out) {
  auto it = user.topics.find(topic);
  if (it == user.topics.end() || --it->second > 0) return;
  user.topics.erase(it);
  auto t = topics_.find(topic);
  if (t != topics_.end()) {
    t->second.erase(std::string(user_id));
    if (t->second.empty()) topics_.erase(t);
  }
  out.push_back({std::string(user_id), std::string(topic), status, PresenceStatus::offline});
}

void PresenceState::status_moved(const User& user, std::string_view user_id, PresenceStatus before,
                                 std::vector<PresenceChange>& out) {
  const PresenceStatus after = user.folded();
  if (after == before) return;
  for (const auto& [topic, count] : user.topics) {
    out.push_back({std::string(user_id), topic, before, after});
  }
}

std::vector<UserPresence> PresenceState::users_in(std::string_view topic) const {
  std::vector<UserPresence> out;
  auto t = topics_.find(topic);
  if (t == topics_.end()) return out;
  out.reserve(t->second.size());
  for (const auto& user_id : t->second) {
    const User& user = users_.find(user_id)->second;
    out.push_back({user_id, user.folded(), user.topics.find(topic)->second, std::nullopt});
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
  return {u->second.folded(), u->second.connections};
}

std::string PresenceState::user_of(std::string_view connection_id) const {
  auto c = connections_.find(connection_id);
  return c == connections_.end() ? std::string() : c->second.user_id;
}

}  // namespace realtime
