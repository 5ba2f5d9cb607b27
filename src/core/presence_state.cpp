#include "core/presence_state.hpp"

namespace realtime {

// Pointers: Connection::user and a topic's members are users_' nodes; the topics of Connection
// and User are topics_' nodes. A user's node lives while they have a connection, so as long as
// any pointer to it. A topic's node lives while a user is present in it, and a connection or
// user holds a topic only while present in it.

template <typename Entry>
std::size_t PresenceState::TopicList<Entry>::index_of(const TopicNode* topic) const {
  const std::size_t n = size();
  for (std::size_t i = 0; i < n; ++i) {
    if ((*this)[i].topic == topic) return i;
  }
  return n;
}

template <typename Entry>
void PresenceState::TopicList<Entry>::push_back(const Entry& entry) {
  if (first_.topic == nullptr) {
    first_ = entry;
    return;
  }
  if (!rest_) rest_ = std::make_unique<std::vector<Entry>>();
  rest_->push_back(entry);
}

template <typename Entry>
void PresenceState::TopicList<Entry>::swap_remove(std::size_t i) {
  const std::size_t last = size() - 1;
  if (i != last) (*this)[i] = (*this)[last];
  if (last == 0) {
    first_ = Entry{};
  } else if (rest_->size() == 1) {
    rest_.reset();
  } else {
    rest_->pop_back();
  }
}

PresenceStatus PresenceState::User::folded() const {
  for (int s = 3; s > 0; --s) {
    if (status_counts[s] > 0) return static_cast<PresenceStatus>(s);
  }
  return PresenceStatus::offline;
}

void PresenceState::connect(std::string_view connection_id, std::string_view user_id,
                            PresenceStatus status) {
  if (status == PresenceStatus::offline) status = PresenceStatus::online;
  if (connections_.find(connection_id) != connections_.end()) return;
  UserNode& user = *users_.try_emplace(std::string(user_id)).first;
  Connection& conn = connections_.try_emplace(std::string(connection_id)).first->second;
  conn.user = &user;
  conn.status = status;
  ++user.second.status_counts[static_cast<int>(status)];
  // A connection that joined no topic yet is in no topic, so nobody sees a change.
}

std::vector<PresenceChange> PresenceState::set_status(std::string_view connection_id,
                                                      PresenceStatus status) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end() || status == PresenceStatus::offline || c->second.status == status) {
    return out;
  }
  Connection& conn = c->second;
  User& user = conn.user->second;
  const PresenceStatus before = user.folded();
  --user.status_counts[static_cast<int>(conn.status)];
  ++user.status_counts[static_cast<int>(status)];
  conn.status = status;
  status_moved(*conn.user, before, out);
  return out;
}

std::vector<PresenceChange> PresenceState::join(std::string_view connection_id,
                                                std::string_view topic) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  Connection& conn = c->second;
  auto t = topics_.find(topic);
  if (t == topics_.end()) {
    t = topics_.try_emplace(std::string(topic)).first;
  } else if (conn.topics.index_of(&*t) < conn.topics.size()) {
    return out;
  }
  TopicNode& node = *t;
  conn.topics.push_back({&node});
  User& user = conn.user->second;
  if (const std::size_t i = user.topics.index_of(&node); i < user.topics.size()) {
    ++user.topics[i].connections;
    return out;
  }
  user.topics.push_back({&node, 1, static_cast<std::uint32_t>(node.second.size())});
  node.second.push_back(conn.user);
  out.push_back({conn.user->first, node.first, PresenceStatus::offline, user.folded()});
  return out;
}

std::vector<PresenceChange> PresenceState::leave(std::string_view connection_id,
                                                 std::string_view topic) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  auto t = topics_.find(topic);
  if (t == topics_.end()) return out;
  Connection& conn = c->second;
  const std::size_t i = conn.topics.index_of(&*t);
  if (i == conn.topics.size()) return out;
  conn.topics.swap_remove(i);
  leave_topic(*conn.user, *t, conn.user->second.folded(), out);
  return out;
}

std::vector<PresenceChange> PresenceState::disconnect(std::string_view connection_id) {
  std::vector<PresenceChange> out;
  auto c = connections_.find(connection_id);
  if (c == connections_.end()) return out;
  Connection conn = std::move(c->second);
  connections_.erase(c);

  UserNode& user = *conn.user;
  const PresenceStatus before = user.second.folded();
  for (std::size_t i = 0; i < conn.topics.size(); ++i) {
    leave_topic(user, *conn.topics[i].topic, before, out);
  }
  --user.second.status_counts[static_cast<int>(conn.status)];
  if (user.second.connections() == 0) {
    users_.erase(users_.find(user.first));  // conn.user dangles from here on
    return out;
  }
  status_moved(user, before, out);
  return out;
}

void PresenceState::leave_topic(UserNode& user, TopicNode& topic, PresenceStatus status,
                                std::vector<PresenceChange>& out) {
  TopicList<UserTopic>& topics = user.second.topics;
  const std::size_t i = topics.index_of(&topic);
  if (i == topics.size() || --topics[i].connections > 0) return;
  out.push_back({user.first, topic.first, status, PresenceStatus::offline});
  // The last member takes the user's place in the topic's members.
  std::vector<UserNode*>& members = topic.second;
  const std::uint32_t index = topics[i].member_index;
  UserNode* moved = members.back();
  members[index] = moved;
  members.pop_back();
  if (moved != &user) {
    TopicList<UserTopic>& moved_topics = moved->second.topics;
    moved_topics[moved_topics.index_of(&topic)].member_index = index;
  }
  topics.swap_remove(i);
  if (members.empty()) topics_.erase(topics_.find(topic.first));
}

void PresenceState::status_moved(const UserNode& user, PresenceStatus before,
                                 std::vector<PresenceChange>& out) {
  const PresenceStatus after = user.second.folded();
  if (after == before) return;
  const TopicList<UserTopic>& topics = user.second.topics;
  for (std::size_t i = 0; i < topics.size(); ++i) {
    out.push_back({user.first, topics[i].topic->first, before, after});
  }
}

std::vector<UserPresence> PresenceState::users_in(std::string_view topic) const {
  std::vector<UserPresence> out;
  auto t = topics_.find(topic);
  if (t == topics_.end()) return out;
  out.reserve(t->second.size());
  for (const UserNode* user : t->second) {
    const TopicList<UserTopic>& topics = user->second.topics;
    out.push_back({user->first, user->second.folded(),
                   static_cast<int>(topics[topics.index_of(&*t)].connections), std::nullopt});
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
  return c == connections_.end() ? std::string() : c->second.user->first;
}

}  // namespace realtime
