#include "protocol/socketio/replies.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace realtime::socketio {
namespace {

namespace json = boost::json;

Reply reply(std::optional<std::uint64_t> id, ReplyStyle style, std::string room = {}) {
  Reply r;
  r.ack_id = id;
  r.style = style;
  r.room_name = std::move(room);
  return r;
}
Reply generic(std::uint64_t id) { return reply(id, ReplyStyle::generic); }
Reply envelope(std::uint64_t id) { return reply(id, ReplyStyle::envelope); }

// The ack's only argument, after checking the frame is "43<id>[<one value>]".
json::value ack_body(const std::string& text, std::uint64_t id) {
  const std::string prefix = "43" + std::to_string(id) + "[";
  if (text.rfind(prefix, 0) != 0 || text.back() != ']') {
    ADD_FAILURE() << "not an ack " << id << ": " << text;
    return {};
  }
  json::value args = json::parse(text.substr(prefix.size() - 1));
  if (!args.is_array() || args.as_array().size() != 1) {
    ADD_FAILURE() << "not one argument: " << text;
    return {};
  }
  return args.as_array()[0];
}

TEST(SocketIoRepliesTest, OkInEachStyle) {
  EXPECT_EQ(reply_ok(generic(3)), R"(433[{"ok":true}])");
  EXPECT_EQ(reply_ok(envelope(3)), R"(433[{"success":true}])");
}

TEST(SocketIoRepliesTest, NothingWhenNoAckWasAskedFor) {
  const Reply none = reply(std::nullopt, ReplyStyle::envelope, "general");
  EXPECT_EQ(reply_ok(none), "");
  EXPECT_EQ(reply_subscribed(none, 3), "");
  EXPECT_EQ(reply_unsubscribed(none), "");
  const std::vector<PresenceEntry> list = {{"u1", PresenceStatus::online, {}}};
  EXPECT_EQ(reply_presences(none, list), "");
}

TEST(SocketIoRepliesTest, SubscribedAndUnsubscribedAreOk) {
  EXPECT_EQ(reply_subscribed(generic(1), 5), R"(431[{"ok":true}])");
  EXPECT_EQ(reply_unsubscribed(generic(1)), R"(431[{"ok":true}])");
  EXPECT_EQ(reply_subscribed(envelope(2), 5), R"(432[{"success":true}])");
  EXPECT_EQ(reply_unsubscribed(envelope(2)), R"(432[{"success":true}])");
}

TEST(SocketIoRepliesTest, RoomJoinCarriesRoomNameAndMemberCount) {
  Reply reply = envelope(7);
  reply.room_name = "channel:42";
  EXPECT_EQ(reply_subscribed(reply, 3),
            R"(437[{"success":true,"data":{"roomName":"channel:42","memberCount":3}}])");
  // Leaving a room has nothing to count.
  EXPECT_EQ(reply_unsubscribed(reply), R"(437[{"success":true}])");
}

TEST(SocketIoRepliesTest, ErrorInEachStyle) {
  EXPECT_EQ(
      reply_error(generic(4), ErrorCode::forbidden, "you may not subscribe to x"),
      R"(434[{"ok":false,"error":{"code":"forbidden","message":"you may not subscribe to x"}}])");
  EXPECT_EQ(reply_error(envelope(4), ErrorCode::rate_limited, "slow down"),
            R"(434[{"success":false,"error":{"code":"rate_limited","message":"slow down"}}])");
}

TEST(SocketIoRepliesTest, ErrorWithoutAckIsAnErrorEvent) {
  const Reply none = reply(std::nullopt, ReplyStyle::generic);
  EXPECT_EQ(reply_error(none, ErrorCode::forbidden, "no"),
            R"(42["error",{"code":"forbidden","message":"no"}])");
  EXPECT_EQ(error_event_message(ErrorCode::bad_request, "x"),
            R"(42["error",{"code":"bad_request","message":"x"}])");
}

TEST(SocketIoRepliesTest, ErrorMessageIsEscaped) {
  const json::value body = ack_body(reply_error(generic(1), ErrorCode::bad_request, "a\"b\n"), 1);
  EXPECT_EQ(body.at("error").at("message").as_string(), "a\"b\n");
}

TEST(SocketIoRepliesTest, Presences) {
  const std::vector<PresenceEntry> list = {
      {"u1", PresenceStatus::online, {}},
      {"u2", PresenceStatus::dnd, {}},
      {"u3", PresenceStatus::offline, 1764419696789},
  };
  const std::string text = reply_presences(envelope(9), list);
  EXPECT_EQ(text,
            R"(439[{"success":true,"data":{"presences":[{"userId":"u1","status":"online"},)"
            R"({"userId":"u2","status":"dnd"},)"
            R"({"userId":"u3","status":"offline","lastSeen":"2025-11-29T12:34:56.789Z"}]}}])");
  const json::value body = ack_body(text, 9);
  EXPECT_EQ(body.at("data").at("presences").as_array().size(), 3u);
}

TEST(SocketIoRepliesTest, EmptyPresences) {
  EXPECT_EQ(reply_presences(envelope(1), {}), R"(431[{"success":true,"data":{"presences":[]}}])");
  EXPECT_EQ(reply_presences(generic(1), {}), R"(431[{"ok":true,"presences":[]}])");
}

TEST(SocketIoRepliesTest, PingEchoesTheTimestampRaw) {
  EXPECT_EQ(reply_ping(5, "1764419696789"), R"(435[{"timestamp":1764419696789}])");
  EXPECT_EQ(reply_ping(5, R"("x")"), R"(435[{"timestamp":"x"}])");
  EXPECT_EQ(reply_ping(5, ""), R"(435[{"timestamp":null}])");
}

}  // namespace
}  // namespace realtime::socketio

namespace realtime::socketio {
namespace {

TEST(SocketIoRepliesTest, SubscribedCarriesTheStreamsPositionInEachStyle) {
  const SubscribedPosition p{"e1", 9, true};
  EXPECT_EQ(reply_subscribed(generic(1), 0, &p),
            R"(431[{"ok":true,"epoch":"e1","offset":9,"recovered":true}])");
  EXPECT_EQ(reply_subscribed(envelope(2), 0, &p),
            R"(432[{"success":true,"data":{"epoch":"e1","offset":9,"recovered":true}}])");
  const SubscribedPosition fresh{"e2", 0, std::nullopt};
  EXPECT_EQ(reply_subscribed(reply(3, ReplyStyle::envelope, "general"), 4, &fresh),
            R"(433[{"success":true,"data":{"roomName":"general","memberCount":4,)"
            R"("epoch":"e2","offset":0}}])");
  EXPECT_EQ(reply_subscribed(reply(std::nullopt, ReplyStyle::generic), 0, &p), "");
}

}  // namespace
}  // namespace realtime::socketio
