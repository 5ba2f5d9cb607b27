#include "protocol/client_message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace realtime {
namespace {

using ::testing::HasSubstr;

// The parsed message; fails the test when the frame was rejected.
ClientMessage accepted(std::string_view text) {
  auto result = parse_client_message(text);
  if (auto* err = std::get_if<ClientMessageError>(&result)) {
    ADD_FAILURE() << "rejected " << text << ": " << err->message;
    return {};
  }
  return std::get<ClientMessage>(result);
}

// The error; fails the test when the frame was accepted.
ClientMessageError rejected(std::string_view text) {
  auto result = parse_client_message(text);
  if (auto* err = std::get_if<ClientMessageError>(&result)) return *err;
  ADD_FAILURE() << "accepted " << text;
  return {ErrorCode::internal, "", ""};
}

std::string subscribe_to(const std::string& topic) {
  return R"({"type":"subscribe","topic":")" + topic + R"("})";
}

// ---------------------------------------------------------------------------------------------
// Each type

TEST(ClientMessageTest, SubscribeCarriesTheTopic) {
  const ClientMessage m = accepted(R"({"type":"subscribe","topic":"channel:42"})");
  EXPECT_EQ(m.type, ClientMessageType::subscribe);
  EXPECT_EQ(m.topic, "channel:42");
  EXPECT_EQ(m.id, "");
}

TEST(ClientMessageTest, UnsubscribeCarriesTheTopic) {
  const ClientMessage m = accepted(R"({"type":"unsubscribe","topic":"channel:42","id":2})");
  EXPECT_EQ(m.type, ClientMessageType::unsubscribe);
  EXPECT_EQ(m.topic, "channel:42");
  EXPECT_EQ(m.id, "2");
}

TEST(ClientMessageTest, PublishCarriesTopicEventAndRawData) {
  const ClientMessage m =
      accepted(R"({"type":"publish","topic":"channel:42","event":"chat.message.created",)"
               R"("data":{"text":"hi","n":[1,2]},"id":3})");
  EXPECT_EQ(m.type, ClientMessageType::publish);
  EXPECT_EQ(m.topic, "channel:42");
  EXPECT_EQ(m.event, "chat.message.created");
  EXPECT_EQ(boost::json::parse(m.data), boost::json::parse(R"({"text":"hi","n":[1,2]})"));
  EXPECT_EQ(m.id, "3");
}

TEST(ClientMessageTest, PublishWithoutDataHasNullData) {
  const ClientMessage m = accepted(R"({"type":"publish","topic":"t","event":"e"})");
  EXPECT_EQ(m.data, "null");
}

TEST(ClientMessageTest, PublishAcceptsAnyJsonAsData) {
  EXPECT_EQ(accepted(R"({"type":"publish","topic":"t","event":"e","data":"text"})").data,
            "\"text\"");
  EXPECT_EQ(accepted(R"({"type":"publish","topic":"t","event":"e","data":12})").data, "12");
  EXPECT_EQ(accepted(R"({"type":"publish","topic":"t","event":"e","data":[true,null]})").data,
            "[true,null]");
  EXPECT_EQ(accepted(R"({"type":"publish","topic":"t","event":"e","data":null})").data, "null");
}

TEST(ClientMessageTest, PresenceAcceptsOnlineAwayAndDnd) {
  EXPECT_EQ(accepted(R"({"type":"presence","status":"online"})").status, PresenceStatus::online);
  EXPECT_EQ(accepted(R"({"type":"presence","status":"away"})").status, PresenceStatus::away);
  EXPECT_EQ(accepted(R"({"type":"presence","status":"dnd"})").status, PresenceStatus::dnd);
}

TEST(ClientMessageTest, PresenceHasThePresenceType) {
  const ClientMessage m = accepted(R"({"type":"presence","status":"away","id":4})");
  EXPECT_EQ(m.type, ClientMessageType::presence);
  EXPECT_EQ(m.id, "4");
}

TEST(ClientMessageTest, PingNeedsNothingButItsType) {
  const ClientMessage m = accepted(R"({"type":"ping","id":5})");
  EXPECT_EQ(m.type, ClientMessageType::ping);
  EXPECT_EQ(m.id, "5");
}

TEST(ClientMessageTest, UnknownFieldsAreIgnored) {
  const ClientMessage m = accepted(R"({"type":"ping","extra":{"a":1},"v":2})");
  EXPECT_EQ(m.type, ClientMessageType::ping);
}

TEST(ClientMessageTest, FieldOrderDoesNotMatter) {
  const ClientMessage m = accepted(R"({"id":"x","topic":"a","type":"subscribe"})");
  EXPECT_EQ(m.type, ClientMessageType::subscribe);
  EXPECT_EQ(m.topic, "a");
  EXPECT_EQ(m.id, "\"x\"");
}

// ---------------------------------------------------------------------------------------------
// id

TEST(ClientMessageIdTest, IntegerIdIsKeptAsRawJson) {
  EXPECT_EQ(accepted(R"({"type":"ping","id":1})").id, "1");
  EXPECT_EQ(accepted(R"({"type":"ping","id":-7})").id, "-7");
  EXPECT_EQ(accepted(R"({"type":"ping","id":0})").id, "0");
}

TEST(ClientMessageIdTest, StringIdIsKeptAsQuotedJson) {
  EXPECT_EQ(accepted(R"({"type":"ping","id":"abc-1"})").id, "\"abc-1\"");
}

TEST(ClientMessageIdTest, StringIdWithEscapesIsStillValidJson) {
  const ClientMessage m = accepted(R"({"type":"ping","id":"a\"b\\c\n"})");
  EXPECT_EQ(boost::json::parse(m.id).as_string(), "a\"b\\c\n");
}

TEST(ClientMessageIdTest, EmptyStringIdIsKept) {
  EXPECT_EQ(accepted(R"({"type":"ping","id":""})").id, "\"\"");
}

TEST(ClientMessageIdTest, FractionalIdParsesBackToTheSameNumber) {
  const ClientMessage m = accepted(R"({"type":"ping","id":1.5})");
  EXPECT_DOUBLE_EQ(boost::json::parse(m.id).to_number<double>(), 1.5);
}

TEST(ClientMessageIdTest, LargeIntegerIdIsKeptExactly) {
  EXPECT_EQ(accepted(R"({"type":"ping","id":9007199254740993})").id, "9007199254740993");
}

TEST(ClientMessageIdTest, StringIdOf128BytesIsAccepted) {
  const std::string id(128, 'x');
  EXPECT_EQ(accepted(R"({"type":"ping","id":")" + id + "\"}").id, "\"" + id + "\"");
}

TEST(ClientMessageIdTest, StringIdOver128BytesIsRejected) {
  const ClientMessageError e = rejected(R"({"type":"ping","id":")" + std::string(129, 'x') + "\"}");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("id"));
  EXPECT_EQ(e.id, "");
}

TEST(ClientMessageIdTest, BooleanIdIsRejected) {
  const ClientMessageError e = rejected(R"({"type":"ping","id":true})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("\"id\""));
  EXPECT_EQ(e.id, "");
}

TEST(ClientMessageIdTest, NullObjectAndArrayIdsAreRejected) {
  EXPECT_EQ(rejected(R"({"type":"ping","id":null})").code, ErrorCode::bad_request);
  EXPECT_EQ(rejected(R"({"type":"ping","id":{}})").code, ErrorCode::bad_request);
  EXPECT_EQ(rejected(R"({"type":"ping","id":[1]})").code, ErrorCode::bad_request);
}

TEST(ClientMessageIdTest, ErrorEchoesAValidIdWhenALaterFieldIsBad) {
  EXPECT_EQ(rejected(R"({"type":"subscribe","id":9})").id, "9");
  EXPECT_EQ(rejected(R"({"type":"nope","id":"q"})").id, "\"q\"");
  EXPECT_EQ(rejected(R"({"id":10})").id, "10");
}

// ---------------------------------------------------------------------------------------------
// type

TEST(ClientMessageTypeTest, MissingTypeIsRejected) {
  const ClientMessageError e = rejected(R"({"topic":"a"})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("\"type\""));
}

TEST(ClientMessageTypeTest, NonStringTypeIsRejected) {
  EXPECT_THAT(rejected(R"({"type":1})").message, HasSubstr("\"type\""));
  EXPECT_THAT(rejected(R"({"type":null})").message, HasSubstr("\"type\""));
  EXPECT_THAT(rejected(R"({"type":["ping"]})").message, HasSubstr("\"type\""));
}

TEST(ClientMessageTypeTest, UnknownTypeIsABadRequestNamingTheType) {
  const ClientMessageError e = rejected(R"({"type":"shout"})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("type"));
}

TEST(ClientMessageTypeTest, TypeIsCaseSensitive) {
  EXPECT_EQ(rejected(R"({"type":"PING"})").code, ErrorCode::bad_request);
}

TEST(ClientMessageTypeTest, ServerFrameTypesAreNotAcceptedFromClients) {
  for (const char* type : {"welcome", "event", "error", "pong", "ack", "subscribed"}) {
    EXPECT_EQ(rejected(std::string(R"({"type":")") + type + "\"}").code, ErrorCode::bad_request)
        << type;
  }
}

// ---------------------------------------------------------------------------------------------
// Not a JSON object

TEST(ClientMessageFrameTest, NonJsonIsABadRequest) {
  const ClientMessageError e = rejected("hello");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("JSON"));
}

TEST(ClientMessageFrameTest, EmptyFrameIsABadRequest) {
  EXPECT_EQ(rejected("").code, ErrorCode::bad_request);
}

TEST(ClientMessageFrameTest, TruncatedJsonIsABadRequest) {
  EXPECT_EQ(rejected(R"({"type":"ping")").code, ErrorCode::bad_request);
}

TEST(ClientMessageFrameTest, TrailingGarbageIsABadRequest) {
  EXPECT_EQ(rejected(R"({"type":"ping"} {"type":"ping"})").code, ErrorCode::bad_request);
}

TEST(ClientMessageFrameTest, JsonThatIsNotAnObjectIsABadRequest) {
  for (const char* text : {"[1,2]", "\"ping\"", "42", "null", "true"}) {
    const ClientMessageError e = rejected(text);
    EXPECT_EQ(e.code, ErrorCode::bad_request) << text;
    EXPECT_THAT(e.message, HasSubstr("object")) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// topic

TEST(ClientMessageTopicTest, MissingTopicIsRejectedNamingTopic) {
  const ClientMessageError e = rejected(R"({"type":"subscribe","id":1})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("\"topic\""));
}

TEST(ClientMessageTopicTest, NonStringTopicIsRejected) {
  EXPECT_THAT(rejected(R"({"type":"subscribe","topic":42})").message, HasSubstr("\"topic\""));
}

TEST(ClientMessageTopicTest, EmptyTopicIsRejected) {
  EXPECT_THAT(rejected(subscribe_to("")).message, HasSubstr("\"topic\""));
}

TEST(ClientMessageTopicTest, TopicOf200BytesIsAccepted) {
  const std::string topic(200, 'a');
  EXPECT_EQ(accepted(subscribe_to(topic)).topic, topic);
}

TEST(ClientMessageTopicTest, TopicOf201BytesIsRejected) {
  const ClientMessageError e = rejected(subscribe_to(std::string(201, 'a')));
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("1-200"));
}

TEST(ClientMessageTopicTest, EveryAllowedCharacterIsAccepted) {
  const std::string topic = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:@/-";
  EXPECT_EQ(accepted(subscribe_to(topic)).topic, topic);
}

TEST(ClientMessageTopicTest, EveryOtherPrintableAsciiCharacterIsRejected) {
  const std::string allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:@/-";
  for (char ch = 0x20; ch < 0x7f; ++ch) {
    if (allowed.find(ch) != std::string::npos) continue;
    std::string escaped = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : std::string(1, ch);
    EXPECT_EQ(rejected(subscribe_to("room" + escaped + "1")).code, ErrorCode::bad_request)
        << "character '" << ch << "'";
  }
}

TEST(ClientMessageTopicTest, ControlCharacterIsRejected) {
  EXPECT_EQ(rejected(subscribe_to("a\\u0000b")).code, ErrorCode::bad_request);
  EXPECT_EQ(rejected(subscribe_to("a\\nb")).code, ErrorCode::bad_request);
}

TEST(ClientMessageTopicTest, NonAsciiTopicIsRejected) {
  EXPECT_EQ(rejected(subscribe_to("caf\xc3\xa9")).code, ErrorCode::bad_request);
}

TEST(ClientMessageTopicTest, UnsubscribeChecksTheTopicToo) {
  EXPECT_EQ(rejected(R"({"type":"unsubscribe","topic":"a b"})").code, ErrorCode::bad_request);
}

TEST(ClientMessageTopicTest, PublishChecksTheTopicToo) {
  EXPECT_THAT(rejected(R"({"type":"publish","topic":"a b","event":"e"})").message,
              HasSubstr("\"topic\""));
}

// ---------------------------------------------------------------------------------------------
// publish event

TEST(ClientMessagePublishTest, MissingEventIsRejectedNamingEvent) {
  const ClientMessageError e = rejected(R"({"type":"publish","topic":"t","id":3})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("\"event\""));
  EXPECT_EQ(e.id, "3");
}

TEST(ClientMessagePublishTest, NonStringEventIsRejected) {
  EXPECT_THAT(rejected(R"({"type":"publish","topic":"t","event":{}})").message,
              HasSubstr("\"event\""));
}

TEST(ClientMessagePublishTest, EventWithBadCharactersIsRejected) {
  EXPECT_THAT(rejected(R"({"type":"publish","topic":"t","event":"a b"})").message,
              HasSubstr("\"event\""));
  EXPECT_THAT(rejected(R"({"type":"publish","topic":"t","event":""})").message,
              HasSubstr("\"event\""));
}

TEST(ClientMessagePublishTest, EventOf200BytesIsAcceptedAnd201IsRejected) {
  const std::string ok(200, 'e');
  EXPECT_EQ(accepted(R"({"type":"publish","topic":"t","event":")" + ok + "\"}").event, ok);
  EXPECT_EQ(rejected(R"({"type":"publish","topic":"t","event":")" + ok + "e\"}").code,
            ErrorCode::bad_request);
}

// ---------------------------------------------------------------------------------------------
// presence status

TEST(ClientMessagePresenceTest, OfflineIsNotAllowedFromClients) {
  const ClientMessageError e = rejected(R"({"type":"presence","status":"offline","id":4})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("\"status\""));
  EXPECT_EQ(e.id, "4");
}

TEST(ClientMessagePresenceTest, UnknownStatusIsRejected) {
  EXPECT_THAT(rejected(R"({"type":"presence","status":"busy"})").message, HasSubstr("\"status\""));
}

TEST(ClientMessagePresenceTest, StatusIsCaseSensitive) {
  EXPECT_EQ(rejected(R"({"type":"presence","status":"Away"})").code, ErrorCode::bad_request);
}

TEST(ClientMessagePresenceTest, MissingStatusIsRejected) {
  EXPECT_THAT(rejected(R"({"type":"presence"})").message, HasSubstr("\"status\""));
}

TEST(ClientMessagePresenceTest, NonStringStatusIsRejected) {
  EXPECT_THAT(rejected(R"({"type":"presence","status":2})").message, HasSubstr("\"status\""));
}

TEST(ClientMessagePresenceTest, ErrorMessageListsTheAllowedStatuses) {
  const std::string msg = rejected(R"({"type":"presence","status":"busy"})").message;
  EXPECT_THAT(msg, HasSubstr("online"));
  EXPECT_THAT(msg, HasSubstr("away"));
  EXPECT_THAT(msg, HasSubstr("dnd"));
}

// ---------------------------------------------------------------------------------------------
// Typing and the reserved topic

TEST(ClientMessageTest, TypingStartAndStop) {
  const ClientMessage start = accepted(R"({"type":"typing","topic":"channel:1","state":"start"})");
  EXPECT_EQ(start.type, ClientMessageType::typing);
  EXPECT_EQ(start.topic, "channel:1");
  EXPECT_TRUE(start.typing);
  EXPECT_EQ(start.thread_id, "");
  const ClientMessage stop = accepted(R"({"type":"typing","topic":"channel:1","state":"stop"})");
  EXPECT_FALSE(stop.typing);
}

TEST(ClientMessageTest, TypingCarriesAnOptionalThread) {
  EXPECT_EQ(
      accepted(R"({"type":"typing","topic":"c","state":"start","thread_id":"msg-17"})").thread_id,
      "msg-17");
  EXPECT_EQ(accepted(R"({"type":"typing","topic":"c","state":"start","thread_id":null})").thread_id,
            "");
}

TEST(ClientMessageTest, TypingNeedsAValidState) {
  EXPECT_THAT(rejected(R"({"type":"typing","topic":"c"})").message, HasSubstr("state"));
  EXPECT_EQ(rejected(R"({"type":"typing","topic":"c","state":"typing","id":4})").id, "4");
  EXPECT_THAT(rejected(R"({"type":"typing","topic":"c","state":true})").message,
              HasSubstr("start or stop"));
}

TEST(ClientMessageTest, TypingNeedsATopic) {
  EXPECT_THAT(rejected(R"({"type":"typing","state":"start"})").message, HasSubstr("topic"));
}

TEST(ClientMessageTest, TypingThreadMustBeASafeName) {
  EXPECT_THAT(
      rejected(R"({"type":"typing","topic":"c","state":"start","thread_id":"a b"})").message,
      HasSubstr("thread_id"));
  EXPECT_THAT(rejected(R"({"type":"typing","topic":"c","state":"start","thread_id":7})").message,
              HasSubstr("thread_id"));
  EXPECT_THAT(rejected(R"({"type":"typing","topic":"c","state":"start","thread_id":""})").message,
              HasSubstr("thread_id"));
}

TEST(ClientMessageTest, PublishToTheEventsTopicIsRefused) {
  const auto err = rejected(R"({"type":"publish","topic":"realtime.events","event":"e","id":1})");
  EXPECT_EQ(err.code, ErrorCode::bad_request);
  EXPECT_THAT(err.message, HasSubstr("reserved"));
  EXPECT_EQ(err.id, "1");
}

TEST(ClientMessageTest, SubscribingToTheEventsTopicIsARulesMatter) {
  EXPECT_EQ(accepted(subscribe_to("realtime.events")).topic, "realtime.events");
}

// Found by client_message_fuzz: an id of 11e309 parsed as infinity and was echoed as
// `"id":Infinity`, which is not JSON; data with such a number would reach every subscriber.
TEST(ClientMessageTest, NumbersBeyondADoubleAreRefused) {
  const ClientMessageError id =
      rejected(R"({"type":"subscribe","topic":"channel:42","id":11e309})");
  EXPECT_EQ(id.id, "");
  EXPECT_THAT(id.message, HasSubstr("id"));
  const ClientMessageError data =
      rejected(R"({"type":"publish","topic":"t","event":"e","data":{"x":-1e400},"id":3})");
  EXPECT_EQ(data.id, "3");
  EXPECT_THAT(data.message, HasSubstr("data"));
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

// ---------------------------------------------------------------------------------------------
// Recovery

TEST(ClientMessageSinceTest, SubscribeMayCarryWhereTheClientStands) {
  const ClientMessage m =
      accepted(R"({"type":"subscribe","topic":"channel:1","since":{"offset":42,"epoch":"ab12"}})");
  ASSERT_TRUE(m.since);
  EXPECT_EQ(m.since->offset, 42u);
  EXPECT_EQ(m.since->epoch, "ab12");
  EXPECT_FALSE(accepted(subscribe_to("channel:1")).since);
  EXPECT_FALSE(accepted(R"({"type":"subscribe","topic":"channel:1","since":null})").since);
  EXPECT_EQ(
      accepted(R"({"type":"subscribe","topic":"c","since":{"offset":0,"epoch":""}})").since->offset,
      0u);
}

TEST(ClientMessageSinceTest, AMalformedSinceIsABadRequestWithTheId) {
  for (std::string_view since : {R"({"offset":-1,"epoch":"e"})", R"({"offset":1.5,"epoch":"e"})",
                                 R"({"epoch":"e"})", R"({"offset":1})", R"({"offset":1,"epoch":7})",
                                 R"(5)", R"("5")", R"({"offset":"1","epoch":"e"})"}) {
    const auto err =
        rejected(R"({"type":"subscribe","topic":"c","id":3,"since":)" + std::string(since) + "}");
    EXPECT_EQ(err.code, ErrorCode::bad_request) << since;
    EXPECT_THAT(err.message, HasSubstr("since")) << since;
    EXPECT_EQ(err.id, "3");
  }
  const std::string long_epoch(65, 'e');
  EXPECT_EQ(rejected(R"({"type":"subscribe","topic":"c","since":{"offset":1,"epoch":")" +
                     long_epoch + "\"}}")
                .code,
            ErrorCode::bad_request);
}

}  // namespace
}  // namespace realtime
