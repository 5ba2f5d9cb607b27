#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/publish_request.hpp"

namespace realtime {

// The message on a topic's Redis channel: {"topic","event","data"} — what any service may
// PUBLISH directly — plus, from our nodes, "ts" (publish time) and "exclude" (a connection that
// must not receive it). The history script appends "offset" to the events it stores.
std::string encode_redis_payload(const PublishedEvent& event, std::int64_t ts_ms);

struct RedisMessage {
  PublishedEvent event;
  std::int64_t ts_ms = 0;    // 0: the payload had none
  std::uint64_t offset = 0;  // its place in the topic's history, added by the publish script
};

// Never throws. `topic` is the channel's topic, which a payload's "topic" must match when given.
// On failure returns nullopt and says why in `error`.
std::optional<RedisMessage> decode_redis_payload(std::string_view topic, std::string_view payload,
                                                 std::string& error);

}  // namespace realtime
