#include "protocol/socketio/outgoing.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>

#include "core/presence_state.hpp"
#include "core/typing_state.hpp"
#include "server/lifecycle_events.hpp"

namespace realtime::socketio {
namespace {

namespace json = boost::json;

const DialectOptions with_nchat{.nchat = true};
const DialectOptions generic_only{.nchat = false};
constexpr std::int64_t ts = 1764419696789;  // 2025-11-29T12:34:56.789Z

std::string encode(const PublishedEvent& e, const DialectOptions& options = with_nchat) {
  return encode_published_event(e.topic, e.event, e.data, ts, options);
}

// The topic's event for one change, and its copy to realtime.events.
std::vector<PublishedEvent> presence_changed_events(const PresenceChange& c) {
  return {presence_topic_event({c.topic, {c}}), presence_backend_events({c})[0]};
}

TEST(SocketIoOutgoingTest, GenericEvent) {
  EXPECT_EQ(
      encode_published_event("channel:42", "chat.message", R"({"text":"hi"})", ts, with_nchat),
      R"(42["chat.message",{"text":"hi"},{"topic":"channel:42","ts":1764419696789}])");
}

TEST(SocketIoOutgoingTest, DataIsInsertedVerbatim) {
  EXPECT_EQ(encode_published_event("t", "e", "[1, 2 ,3]", 5, generic_only),
            R"(42["e",[1, 2 ,3],{"topic":"t","ts":5}])");
  EXPECT_EQ(encode_published_event("t", "e", "", 5, generic_only),
            R"(42["e",null,{"topic":"t","ts":5}])");
}

TEST(SocketIoOutgoingTest, ReservedNamesAreNotCarried) {
  for (std::string_view name : {"connect", "connect_error", "disconnect", "disconnecting",
                                "newListener", "removeListener"}) {
    EXPECT_EQ(encode_published_event("t", name, "{}", ts, with_nchat), "") << name;
    EXPECT_EQ(encode_published_event("t", name, "{}", ts, generic_only), "") << name;
  }
}

TEST(SocketIoOutgoingTest, TypingStartOnAChannel) {
  const auto events = typing_events({{"channel:c1", "u1", "", "conn-1", true}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(
      encode(events[0]),
      R"(42["typing:start",{"userId":"u1","channelId":"c1","startedAt":"2025-11-29T12:34:56.789Z"}])");
}

TEST(SocketIoOutgoingTest, TypingStopInAThread) {
  const auto events = typing_events({{"channel:c1", "u1", "th-2", "conn-1", false}});
  EXPECT_EQ(
      encode(events[0]),
      R"(42["typing:stop",{"userId":"u1","channelId":"c1","threadId":"th-2","stoppedAt":"2025-11-29T12:34:56.789Z"}])");
}

TEST(SocketIoOutgoingTest, TypingOutsideChannelsIsGeneric) {
  const auto events = typing_events({{"room-1", "u1", "", "conn-1", true}});
  EXPECT_EQ(encode(events[0]),
            R"(42["realtime.typing",{"user_id":"u1","state":"start","thread_id":null},)"
            R"({"topic":"room-1","ts":1764419696789}])");
}

TEST(SocketIoOutgoingTest, TypingWithNchatOffIsGeneric) {
  const auto events = typing_events({{"channel:c1", "u1", "", "conn-1", true}});
  const std::string text = encode(events[0], generic_only);
  EXPECT_EQ(text.rfind(R"(42["realtime.typing",)", 0), 0u) << text;
}

TEST(SocketIoOutgoingTest, PresenceChanged) {
  const auto events = presence_changed_events(
      {"u1", "channel:c1", PresenceStatus::offline, PresenceStatus::online});
  ASSERT_EQ(events.size(), 2u);  // the topic, and realtime.events
  EXPECT_EQ(encode(events[0]), R"(42["presence:changed",{"userId":"u1","status":"online"}])");
}

TEST(SocketIoOutgoingTest, PresenceChangedToDnd) {
  const auto events =
      presence_changed_events({"u1", "general", PresenceStatus::online, PresenceStatus::dnd});
  EXPECT_EQ(encode(events[0]), R"(42["presence:changed",{"userId":"u1","status":"dnd"}])");
}

TEST(SocketIoOutgoingTest, PresenceChangedToOfflineCarriesLastSeen) {
  const auto events =
      presence_changed_events({"u1", "channel:c1", PresenceStatus::away, PresenceStatus::offline});
  EXPECT_EQ(
      encode(events[0]),
      R"(42["presence:changed",{"userId":"u1","status":"offline","lastSeen":"2025-11-29T12:34:56.789Z"}])");
}

TEST(SocketIoOutgoingTest, PresenceDiffIsOnePresenceBulk) {
  const auto diff =
      presence_topic_event({"channel:c1",
                            {{"u1", "channel:c1", PresenceStatus::offline, PresenceStatus::online},
                             {"u2", "channel:c1", PresenceStatus::online, PresenceStatus::offline},
                             {"u3", "channel:c1", PresenceStatus::online, PresenceStatus::dnd}}});
  ASSERT_EQ(diff.event, "realtime.presence.diff");
  // Joins first, then leaves as offline with their last-seen.
  EXPECT_EQ(encode(diff),
            R"(42["presence:bulk",{"presences":[{"userId":"u1","status":"online"},)"
            R"({"userId":"u3","status":"dnd"},)"
            R"({"userId":"u2","status":"offline","lastSeen":"2025-11-29T12:34:56.789Z"}]}])");
}

TEST(SocketIoOutgoingTest, PresenceDiffInTheGenericVocabularyPassesThrough) {
  const auto diff = presence_topic_event(
      {"channel:c1",
       {{"u1", "channel:c1", PresenceStatus::offline, PresenceStatus::online},
        {"u2", "channel:c1", PresenceStatus::online, PresenceStatus::offline}}});
  EXPECT_EQ(encode(diff, generic_only),
            R"(42["realtime.presence.diff",{"topic":"channel:c1","joins":[{"user_id":"u1",)"
            R"("status":"online","old_status":"offline"}],"leaves":[{"user_id":"u2",)"
            R"("old_status":"online"}]},{"topic":"channel:c1","ts":1764419696789}])");
}

TEST(SocketIoOutgoingTest, MalformedPresenceDiffFallsBackToGeneric) {
  for (std::string_view data :
       {"", "null", "{}", R"({"joins":{},"leaves":[]})", R"({"joins":[{"user_id":1}],"leaves":[]})",
        R"({"joins":[{"user_id":"u","status":"gone"}],"leaves":[]})",
        R"({"joins":[],"leaves":[{"old_status":"online"}]})", R"({"joins":[7],"leaves":[]})"}) {
    const std::string text =
        encode_published_event("channel:c", "realtime.presence.diff", data, ts, with_nchat);
    EXPECT_EQ(text.rfind(R"(42["realtime.presence.diff",)", 0), 0u) << text;
  }
}

TEST(SocketIoOutgoingTest, LifecycleTopicStaysGeneric) {
  const auto events = presence_changed_events(
      {"u1", "channel:c1", PresenceStatus::offline, PresenceStatus::online});
  ASSERT_EQ(events[1].topic, "realtime.events");
  const std::string text = encode(events[1]);
  EXPECT_EQ(text.rfind(R"(42["realtime.presence.changed",)", 0), 0u) << text;
}

TEST(SocketIoOutgoingTest, MalformedLifecycleDataFallsBackToGeneric) {
  for (std::string_view data :
       {"", "null", "[]", "{", R"({"user_id":1,"state":"start"})",
        R"({"user_id":"u","state":"maybe"})", R"({"user_id":"u","new_status":"gone"})"}) {
    const std::string typing =
        encode_published_event("channel:c", "realtime.typing", data, ts, with_nchat);
    EXPECT_EQ(typing.rfind(R"(42["realtime.typing",)", 0), 0u) << typing;
    const std::string presence =
        encode_published_event("channel:c", "realtime.presence.changed", data, ts, with_nchat);
    EXPECT_EQ(presence.rfind(R"(42["realtime.presence.changed",)", 0), 0u) << presence;
  }
  // "channel:" alone names no channel.
  const auto events = typing_events({{"channel:", "u1", "", "c", true}});
  EXPECT_EQ(encode(events[0]).rfind(R"(42["realtime.typing",)", 0), 0u);
}

TEST(SocketIoOutgoingTest, EveryEncodingIsOneValidSocketIoEvent) {
  const auto typing = typing_events({{"channel:c1", "u\"1", "th", "c", true}});
  const auto presence =
      presence_changed_events({"u1", "t", PresenceStatus::online, PresenceStatus::away});
  const auto diff =
      presence_topic_event({"t",
                            {{"u\"1", "t", PresenceStatus::offline, PresenceStatus::online},
                             {"u2", "t", PresenceStatus::online, PresenceStatus::offline}}});
  for (const std::string& text :
       {encode(typing[0]), encode(presence[0]), encode(presence[1]), encode(diff),
        encode(diff, generic_only),
        encode_published_event("t", "e", R"({"a":[1,{"b":null}]})", ts, with_nchat)}) {
    ASSERT_EQ(text.substr(0, 2), "42");
    const json::value v = json::parse(text.substr(2));
    ASSERT_TRUE(v.is_array()) << text;
    EXPECT_TRUE(v.as_array().at(0).is_string()) << text;
  }
  EXPECT_EQ(json::parse(encode(typing[0]).substr(2)).as_array().at(1).at("userId").as_string(),
            "u\"1");
}

}  // namespace
}  // namespace realtime::socketio

namespace realtime::socketio {
namespace {

TEST(SocketIoOutgoingTest, AnEventOfAHistoryTopicCarriesItsOffsetInTheMeta) {
  EXPECT_EQ(encode_published_event("channel:42", "m", "1", 5, DialectOptions{}, 3),
            R"(42["m",1,{"topic":"channel:42","ts":5,"offset":3}])");
}

}  // namespace
}  // namespace realtime::socketio
