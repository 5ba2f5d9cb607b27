#include "protocol/socketio/dialect.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>

#include "protocol/socketio/replies.hpp"

namespace realtime::socketio {
namespace {

namespace json = boost::json;

const DialectOptions with_nchat{.nchat = true};
const DialectOptions generic_only{.nchat = false};

// `packet` is a Socket.IO EVENT ("2[...]" or "2<id>[...]").
EventOutcome map(std::string_view packet, const DialectOptions& options = with_nchat) {
  auto decoded = decode_sio_packet(packet);
  if (auto* error = std::get_if<SioError>(&decoded)) {
    ADD_FAILURE() << "packet refused (" << describe(*error) << "): " << packet;
    return Ignored{"test"};
  }
  return map_event(std::get<SioPacket>(decoded), options);
}

Command command(std::string_view packet, const DialectOptions& options = with_nchat) {
  auto outcome = map(packet, options);
  if (auto* c = std::get_if<Command>(&outcome)) return std::move(*c);
  ADD_FAILURE() << "not a command: " << packet;
  return {};
}

std::string sent(std::string_view packet, const DialectOptions& options = with_nchat) {
  auto outcome = map(packet, options);
  if (auto* s = std::get_if<Send>(&outcome)) return std::move(s->text);
  ADD_FAILURE() << "not answered by the codec: " << packet;
  return {};
}

bool ignored(std::string_view packet, const DialectOptions& options = with_nchat) {
  return std::holds_alternative<Ignored>(map(packet, options));
}

// The single argument of an ack "43<id>[x]" / of an event "42[name,x]".
json::value ack_arg(const std::string& text) {
  const std::size_t open = text.find('[');
  if (text.rfind("43", 0) != 0 || open == std::string::npos) {
    ADD_FAILURE() << "not an ack: " << text;
    return {};
  }
  return json::parse(text.substr(open)).as_array().at(0);
}

// ---------------------------------------------------------------------------------------------
// Generic vocabulary

TEST(SocketIoDialectTest, SubscribeToATopicString) {
  const Command c = command(R"(21["subscribe","channel:42"])");
  EXPECT_EQ(c.message.type, ClientMessageType::subscribe);
  EXPECT_EQ(c.message.topic, "channel:42");
  EXPECT_EQ(c.message.id, "1");
  EXPECT_EQ(c.reply.ack_id, 1u);
  EXPECT_EQ(c.reply.style, ReplyStyle::generic);
  EXPECT_EQ(reply_subscribed(c.reply, 2), R"(431[{"ok":true}])");
}

TEST(SocketIoDialectTest, SubscribeToATopicObject) {
  const Command c = command(R"(2["subscribe",{"topic":"news"}])");
  EXPECT_EQ(c.message.type, ClientMessageType::subscribe);
  EXPECT_EQ(c.message.topic, "news");
  EXPECT_EQ(c.message.id, "");
  EXPECT_FALSE(c.reply.wanted());
}

TEST(SocketIoDialectTest, Unsubscribe) {
  const Command a = command(R"(22["unsubscribe","news"])");
  EXPECT_EQ(a.message.type, ClientMessageType::unsubscribe);
  EXPECT_EQ(a.message.topic, "news");
  EXPECT_EQ(reply_unsubscribed(a.reply), R"(432[{"ok":true}])");
  EXPECT_EQ(command(R"(2["unsubscribe",{"topic":"news"}])").message.topic, "news");
}

TEST(SocketIoDialectTest, SubscribeWithABadTopicIsAnsweredWithAnError) {
  for (std::string_view packet :
       {R"(23["subscribe"])", R"(23["subscribe",42])", R"(23["subscribe",{"topic":7}])",
        R"(23["subscribe","has space"])", R"(23["subscribe",""])", R"(23["subscribe",{}])"}) {
    const json::value body = ack_arg(sent(packet));
    EXPECT_EQ(body.at("ok").as_bool(), false) << packet;
    EXPECT_EQ(body.at("error").at("code").as_string(), "bad_request") << packet;
  }
  const std::string long_topic(201, 't');
  EXPECT_EQ(ack_arg(sent("23[\"subscribe\",\"" + long_topic + "\"]")).at("ok").as_bool(), false);
}

TEST(SocketIoDialectTest, BadRequestWithoutAckIsAnErrorEvent) {
  EXPECT_EQ(
      sent(R"(2["subscribe",42])"),
      R"(42["error",{"code":"bad_request","message":"the first argument must be a topic or {\"topic\"}"}])");
}

TEST(SocketIoDialectTest, Publish) {
  const Command c = command(
      R"(25["publish",{"topic":"channel:1","event":"chat.message","data":{"t":"hi","n":[1,2]}}])");
  EXPECT_EQ(c.message.type, ClientMessageType::publish);
  EXPECT_EQ(c.message.topic, "channel:1");
  EXPECT_EQ(c.message.event, "chat.message");
  EXPECT_EQ(json::parse(c.message.data), json::parse(R"({"t":"hi","n":[1,2]})"));
  EXPECT_EQ(c.reply.ack_id, 5u);
  EXPECT_EQ(reply_ok(c.reply), R"(435[{"ok":true}])");
}

TEST(SocketIoDialectTest, PublishWithoutDataPublishesNull) {
  EXPECT_EQ(command(R"(2["publish",{"topic":"t","event":"e"}])").message.data, "null");
  EXPECT_EQ(command(R"(2["publish",{"topic":"t","event":"e","data":"x"}])").message.data, "\"x\"");
}

TEST(SocketIoDialectTest, PublishRefusals) {
  for (std::string_view packet : {
           R"(21["publish"])",
           R"(21["publish","t"])",
           R"(21["publish",{"event":"e"}])",
           R"(21["publish",{"topic":"bad topic","event":"e"}])",
           R"(21["publish",{"topic":"t"}])",
           R"(21["publish",{"topic":"t","event":"bad event"}])",
           R"(21["publish",{"topic":"t","event":7}])",
           R"(21["publish",{"topic":"realtime.events","event":"e"}])",
           // 1e400 parses as infinity and would be relayed as `Infinity`, which is not JSON.
           R"(21["publish",{"topic":"t","event":"e","data":{"x":[1e400]}}])",
       }) {
    const json::value body = ack_arg(sent(packet));
    EXPECT_EQ(body.at("ok").as_bool(), false) << packet;
    EXPECT_EQ(body.at("error").at("code").as_string(), "bad_request") << packet;
  }
}

TEST(SocketIoDialectTest, Presence) {
  for (auto [name, status] :
       {std::pair{"online", PresenceStatus::online}, std::pair{"away", PresenceStatus::away},
        std::pair{"dnd", PresenceStatus::dnd}}) {
    const Command c = command(std::string(R"(2["presence",{"status":")") + name + "\"}]");
    EXPECT_EQ(c.message.type, ClientMessageType::presence);
    EXPECT_EQ(c.message.status, status);
  }
}

TEST(SocketIoDialectTest, PresenceRefusesOfflineAndUnknown) {
  // As v1: a connected user cannot be offline.
  for (std::string_view packet :
       {R"(21["presence",{"status":"offline"}])", R"(21["presence",{"status":"busy"}])",
        R"(21["presence",{}])", R"(21["presence","online"])"}) {
    EXPECT_EQ(ack_arg(sent(packet)).at("ok").as_bool(), false) << packet;
  }
}

TEST(SocketIoDialectTest, Typing) {
  const Command start = command(R"(2["typing",{"topic":"channel:1","state":"start"}])");
  EXPECT_EQ(start.message.type, ClientMessageType::typing);
  EXPECT_EQ(start.message.topic, "channel:1");
  EXPECT_TRUE(start.message.typing);
  EXPECT_EQ(start.message.thread_id, "");
  const Command stop =
      command(R"(2["typing",{"topic":"channel:1","state":"stop","thread_id":"th-9"}])");
  EXPECT_FALSE(stop.message.typing);
  EXPECT_EQ(stop.message.thread_id, "th-9");
  EXPECT_EQ(
      command(R"(2["typing",{"topic":"t","state":"stop","thread_id":null}])").message.thread_id,
      "");
}

TEST(SocketIoDialectTest, TypingRefusals) {
  for (std::string_view packet : {
           R"(21["typing",{"state":"start"}])",
           R"(21["typing",{"topic":"t"}])",
           R"(21["typing",{"topic":"t","state":"go"}])",
           R"(21["typing",{"topic":"t","state":"start","thread_id":5}])",
           R"(21["typing",{"topic":"t","state":"start","thread_id":"a b"}])",
       }) {
    EXPECT_EQ(ack_arg(sent(packet)).at("ok").as_bool(), false) << packet;
  }
}

TEST(SocketIoDialectTest, GenericWorksWithNchatOff) {
  EXPECT_EQ(command(R"(2["subscribe","t"])", generic_only).message.topic, "t");
}

// ---------------------------------------------------------------------------------------------
// nchat

TEST(SocketIoDialectTest, ChannelJoinAndLeave) {
  const Command join = command(R"(2["channel:join",{"channelId":"stream-7"}])");
  EXPECT_EQ(join.message.type, ClientMessageType::subscribe);
  EXPECT_EQ(join.message.topic, "channel:stream-7");
  EXPECT_FALSE(join.reply.wanted());
  EXPECT_EQ(join.reply.style, ReplyStyle::envelope);
  const Command leave = command(R"(24["channel:leave",{"channelId":"stream-7"}])");
  EXPECT_EQ(leave.message.type, ClientMessageType::unsubscribe);
  EXPECT_EQ(leave.message.topic, "channel:stream-7");
  EXPECT_EQ(reply_unsubscribed(leave.reply), R"(434[{"success":true}])");
}

TEST(SocketIoDialectTest, ChannelJoinWithAnAckIsAnsweredInTheEnvelope) {
  const Command c = command(R"(23["channel:join",{"channelId":"c1"}])");
  EXPECT_EQ(reply_subscribed(c.reply, 4), R"(433[{"success":true}])");
  EXPECT_EQ(reply_error(c.reply, ErrorCode::forbidden, "no"),
            R"(433[{"success":false,"error":{"code":"forbidden","message":"no"}}])");
}

TEST(SocketIoDialectTest, ChannelRefusals) {
  for (std::string_view packet : {
           R"(21["channel:join"])",
           R"(21["channel:join",{}])",
           R"(21["channel:join",{"channelId":42}])",
           R"(21["channel:join",{"channelId":""}])",
           R"(21["channel:join",{"channelId":"a b"}])",
           R"(21["channel:leave","c1"])",
       }) {
    const json::value body = ack_arg(sent(packet));
    EXPECT_EQ(body.at("success").as_bool(), false) << packet;
    EXPECT_EQ(body.at("error").at("code").as_string(), "bad_request") << packet;
  }
  // "channel:" + 192 bytes is 200: the longest topic.
  EXPECT_EQ(command("2[\"channel:join\",{\"channelId\":\"" + std::string(192, 'c') + "\"}]")
                .message.topic.size(),
            200u);
  EXPECT_FALSE(ignored("21[\"channel:join\",{\"channelId\":\"" + std::string(193, 'c') + "\"}]"));
}

TEST(SocketIoDialectTest, RoomJoinEchoesTheRoomName) {
  const Command c = command(R"(20["room:join",{"roomName":"general"}])");
  EXPECT_EQ(c.message.type, ClientMessageType::subscribe);
  EXPECT_EQ(c.message.topic, "general");
  EXPECT_EQ(c.reply.style, ReplyStyle::envelope);
  EXPECT_EQ(c.reply.room_name, "general");
  EXPECT_EQ(reply_subscribed(c.reply, 12),
            R"(430[{"success":true,"data":{"roomName":"general","memberCount":12}}])");
  EXPECT_EQ(command(R"(2["room:join",{"roomName":"channel:9"}])").message.topic, "channel:9");
}

TEST(SocketIoDialectTest, RoomLeave) {
  const Command c = command(R"(2["room:leave",{"roomName":"general"}])");
  EXPECT_EQ(c.message.type, ClientMessageType::unsubscribe);
  EXPECT_EQ(c.message.topic, "general");
  EXPECT_EQ(c.reply.room_name, "");
}

TEST(SocketIoDialectTest, RoomRefusals) {
  const json::value body = ack_arg(sent(R"(21["room:join",{"room":"general"}])"));
  EXPECT_EQ(body.at("success").as_bool(), false);
  EXPECT_EQ(ack_arg(sent(R"(21["room:join",{"roomName":"a b"}])")).at("success").as_bool(), false);
}

TEST(SocketIoDialectTest, TypingStartAndStop) {
  const Command start = command(R"(2["typing:start",{"channelId":"c1"}])");
  EXPECT_EQ(start.message.type, ClientMessageType::typing);
  EXPECT_EQ(start.message.topic, "channel:c1");
  EXPECT_TRUE(start.message.typing);
  EXPECT_EQ(start.message.thread_id, "");
  EXPECT_FALSE(start.reply.wanted());
  const Command stop = command(R"(2["typing:stop",{"channelId":"c1","threadId":"t7"}])");
  EXPECT_FALSE(stop.message.typing);
  EXPECT_EQ(stop.message.thread_id, "t7");
  EXPECT_EQ(command(R"(2["typing:start",{"channelId":"c1","threadId":null}])").message.thread_id,
            "");
}

TEST(SocketIoDialectTest, TypingRefusalsNchat) {
  // nchat's unmounted client sends {roomName, roomType}: not this vocabulary.
  EXPECT_EQ(ack_arg(sent(R"(21["typing:start",{"roomName":"c1","roomType":"channel"}])"))
                .at("success")
                .as_bool(),
            false);
  EXPECT_EQ(ack_arg(sent(R"(21["typing:start",{"channelId":"c1","threadId":3}])"))
                .at("error")
                .at("code")
                .as_string(),
            "bad_request");
}

TEST(SocketIoDialectTest, PresenceUpdate) {
  for (auto [name, status] :
       {std::pair{"online", PresenceStatus::online}, std::pair{"away", PresenceStatus::away},
        std::pair{"dnd", PresenceStatus::dnd}, std::pair{"busy", PresenceStatus::dnd}}) {
    const Command c = command(std::string(R"(2["presence:update",{"status":")") + name + "\"}]");
    EXPECT_EQ(c.message.type, ClientMessageType::presence) << name;
    EXPECT_EQ(c.message.status, status) << name;
    EXPECT_EQ(c.reply.style, ReplyStyle::envelope);
  }
}

TEST(SocketIoDialectTest, PresenceUpdateIgnoresExtraFields) {
  EXPECT_EQ(command(R"(2["presence:update",{"status":"away","customStatus":{"text":"x"}}])")
                .message.status,
            PresenceStatus::away);
}

TEST(SocketIoDialectTest, PresenceUpdateOfflineIsANoOp) {
  EXPECT_TRUE(ignored(R"(2["presence:update",{"status":"offline"}])"));
  EXPECT_EQ(sent(R"(28["presence:update",{"status":"offline"}])"), R"(438[{"success":true}])");
}

TEST(SocketIoDialectTest, PresenceUpdateRefusals) {
  for (std::string_view packet : {R"(21["presence:update",{"status":"sleeping"}])",
                                  R"(21["presence:update",{}])", R"(21["presence:update"])"}) {
    EXPECT_EQ(ack_arg(sent(packet)).at("success").as_bool(), false) << packet;
  }
}

TEST(SocketIoDialectTest, PresenceGet) {
  auto outcome = map(R"(26["presence:get",{"userIds":["u1","u2","u1","u3"]}])");
  ASSERT_TRUE(std::holds_alternative<PresenceQuery>(outcome));
  const auto& q = std::get<PresenceQuery>(outcome);
  EXPECT_EQ(q.user_ids, (std::vector<std::string>{"u1", "u2", "u3"}));
  EXPECT_EQ(q.reply.ack_id, 6u);
  EXPECT_EQ(q.reply.style, ReplyStyle::envelope);
  const std::vector<PresenceEntry> found = {{"u1", PresenceStatus::online, {}}};
  EXPECT_EQ(reply_presences(q.reply, found),
            R"(436[{"success":true,"data":{"presences":[{"userId":"u1","status":"online"}]}}])");
}

TEST(SocketIoDialectTest, PresenceGetOfNobodyIsAnsweredAtOnce) {
  EXPECT_EQ(sent(R"(26["presence:get",{"userIds":[]}])"),
            R"(436[{"success":true,"data":{"presences":[]}}])");
}

TEST(SocketIoDialectTest, PresenceGetWithoutAckIsIgnored) {
  EXPECT_TRUE(ignored(R"(2["presence:get",{"userIds":["u1"]}])"));
}

TEST(SocketIoDialectTest, PresenceGetRefusals) {
  std::string many = R"(21["presence:get",{"userIds":[)";
  for (std::size_t i = 0; i <= max_presence_query_users; ++i) {
    if (i > 0) many += ',';
    many += "\"u" + std::to_string(i) + "\"";
  }
  many += "]}]";
  for (const std::string& packet : {std::string(R"(21["presence:get",{}])"),
                                    std::string(R"(21["presence:get",{"userIds":"u1"}])"),
                                    std::string(R"(21["presence:get",{"userIds":[1]}])"),
                                    std::string(R"(21["presence:get",{"userIds":["a b"]}])"),
                                    std::string(R"(21["presence:get",{"userIds":[""]}])"), many}) {
    EXPECT_EQ(ack_arg(sent(packet)).at("success").as_bool(), false) << packet.substr(0, 60);
  }
}

TEST(SocketIoDialectTest, PingEchoesTheTimestamp) {
  EXPECT_EQ(sent(R"(29["ping",{"timestamp":1764419696789}])"),
            R"(439[{"timestamp":1764419696789}])");
  EXPECT_EQ(sent(R"(29["ping"])"), R"(439[{"timestamp":null}])");
  EXPECT_EQ(sent(R"(29["ping",{"timestamp":-1e999}])"), R"(439[{"timestamp":null}])");
  EXPECT_TRUE(ignored(R"(2["ping",{"timestamp":1}])"));
}

TEST(SocketIoDialectTest, NchatNamesAreUnknownWhenNchatIsOff) {
  EXPECT_TRUE(ignored(R"(2["channel:join",{"channelId":"c1"}])", generic_only));
  const json::value body = ack_arg(sent(R"(21["channel:join",{"channelId":"c1"}])", generic_only));
  EXPECT_EQ(body.at("ok").as_bool(), false);
}

// ---------------------------------------------------------------------------------------------
// Unknown events

TEST(SocketIoDialectTest, UnknownEventWithoutAckIsIgnored) {
  EXPECT_TRUE(ignored(R"(2["presence:subscribe",{"userIds":["u1"]}])"));
  EXPECT_TRUE(ignored(R"(2["auth:refresh",{"token":"t"}])"));
  EXPECT_TRUE(ignored(R"(2["whatever"])"));
}

TEST(SocketIoDialectTest, UnknownNchatLikeEventWithAckGetsTheEnvelope) {
  const json::value body = ack_arg(sent(R"(24["message:send",{"roomName":"r","content":"x"}])"));
  EXPECT_EQ(body.at("success").as_bool(), false);
  EXPECT_EQ(body.at("error").at("code").as_string(), "bad_request");
  EXPECT_EQ(body.at("error").at("message").as_string(), "unknown event \"message:send\"");
}

TEST(SocketIoDialectTest, UnknownEventWithAckGetsTheGenericError) {
  const json::value body = ack_arg(sent(R"(24["hello"])"));
  EXPECT_EQ(body.at("ok").as_bool(), false);
  EXPECT_EQ(body.at("error").at("message").as_string(), "unknown event \"hello\"");
  // nchat off: even x:y names are generic.
  EXPECT_EQ(ack_arg(sent(R"(24["a:b"])", generic_only)).at("ok").as_bool(), false);
}

TEST(SocketIoDialectTest, LongUnknownNamesAreNotEchoed) {
  const std::string name(5000, 'x');
  const json::value body = ack_arg(sent("21[\"" + name + "\"]"));
  EXPECT_EQ(body.at("error").at("message").as_string(), "unknown event");
}

TEST(SocketIoDialectTest, UnknownNamesAreEchoedEscaped) {
  const json::value body = ack_arg(sent(R"(21["a\"b\u0001é"])"));
  EXPECT_EQ(body.at("error").at("message").as_string(), "unknown event \"a\"b\x01\xc3\xa9\"");
}

}  // namespace
}  // namespace realtime::socketio

namespace realtime::socketio {
namespace {

TEST(SocketIoDialectSinceTest, EverySubscribeMayCarrySince) {
  const Command generic_cmd =
      command(R"(21["subscribe",{"topic":"channel:1","since":{"offset":4,"epoch":"e"}}])");
  ASSERT_TRUE(generic_cmd.message.since);
  EXPECT_EQ(generic_cmd.message.since->offset, 4u);
  EXPECT_EQ(generic_cmd.message.since->epoch, "e");
  const Command channel =
      command(R"(22["channel:join",{"channelId":"7","since":{"offset":0,"epoch":"x"}}])");
  EXPECT_EQ(channel.message.topic, "channel:7");
  ASSERT_TRUE(channel.message.since);
  const Command room =
      command(R"(23["room:join",{"roomName":"general","since":{"offset":2,"epoch":"y"}}])");
  ASSERT_TRUE(room.message.since);
  EXPECT_EQ(room.message.since->offset, 2u);
  EXPECT_FALSE(command(R"(24["subscribe","channel:1"])").message.since);
}

TEST(SocketIoDialectSinceTest, AMalformedSinceIsRefusedInTheRequestsStyle) {
  const std::string generic_error =
      sent(R"(21["subscribe",{"topic":"channel:1","since":{"offset":-1,"epoch":"e"}}])");
  EXPECT_NE(generic_error.find(R"("ok":false)"), std::string::npos) << generic_error;
  EXPECT_NE(generic_error.find("since"), std::string::npos);
  const std::string envelope_error =
      sent(R"(22["channel:join",{"channelId":"7","since":"yesterday"}])");
  EXPECT_NE(envelope_error.find(R"("success":false)"), std::string::npos) << envelope_error;
}

}  // namespace
}  // namespace realtime::socketio
