#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace realtime {

// A user's own topic, `user:<id>`, where a backend sends that user's notifications. A Socket.IO
// (nchat) connection receives it without subscribing: its shard finds it through the user index,
// like a mailbox. So an idle connection keeps no topic, registry entry or Redis channel for it,
// and a connect sends no SUBSCRIBE for it.
inline constexpr std::string_view user_topic_prefix = "user:";

// The user id of a user's own topic; nullopt for any other topic.
inline std::optional<std::string_view> mailbox_user(std::string_view topic) {
  if (!topic.starts_with(user_topic_prefix) || topic.size() == user_topic_prefix.size()) {
    return std::nullopt;
  }
  return topic.substr(user_topic_prefix.size());
}

// Who an event on its way to a node's shards is for. The embedded engine hands each event over
// once, for both. Through Redis a node may read one event twice, from the topic's channel (its
// subscribers) and from the pattern that covers every user's own topic (the mailboxes), and each
// copy reaches only its own.
enum class Reach : std::uint8_t { all, subscribers, mailboxes };

}  // namespace realtime
