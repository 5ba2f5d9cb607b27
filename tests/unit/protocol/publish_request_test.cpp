#include "protocol/publish_request.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace realtime {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const PublishLimits default_limits{};

std::vector<PublishedEvent> accepted(std::string_view body,
                                     const PublishLimits& limits = default_limits) {
  auto result = parse_publish_request(body, limits);
  if (auto* err = std::get_if<PublishRequestError>(&result)) {
    ADD_FAILURE() << "rejected " << body << ": " << err->message;
    return {};
  }
  return std::get<std::vector<PublishedEvent>>(result);
}

PublishRequestError rejected(std::string_view body, const PublishLimits& limits = default_limits) {
  auto result = parse_publish_request(body, limits);
  if (auto* err = std::get_if<PublishRequestError>(&result)) return *err;
  ADD_FAILURE() << "accepted " << body;
  return {ErrorCode::internal, ""};
}

// A {"topic","event","data"} object with `data` as raw JSON.
std::string message(const std::string& topic, const std::string& event,
                    const std::string& data = "{}") {
  return R"({"topic":")" + topic + R"(","event":")" + event + R"(","data":)" + data + "}";
}

std::string batch(const std::vector<std::string>& messages) {
  std::string out = R"({"messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += messages[i];
  }
  return out + "]}";
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(PublishLimitsTest, DefaultsMatchTheSpec) {
  EXPECT_EQ(default_limits.max_messages, 1000u);
  EXPECT_EQ(default_limits.max_message_bytes, 65536u);
}

// ---------------------------------------------------------------------------------------------
// Single message

TEST(PublishRequestTest, SingleMessageIsOneEvent) {
  const auto events = accepted(message("channel:42", "chat.message.created", R"({"text":"hi"})"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].topic, "channel:42");
  EXPECT_EQ(events[0].event, "chat.message.created");
  EXPECT_EQ(boost::json::parse(events[0].data), boost::json::parse(R"({"text":"hi"})"));
}

TEST(PublishRequestTest, MissingDataBecomesNull) {
  const auto events = accepted(R"({"topic":"t","event":"e"})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "null");
}

TEST(PublishRequestTest, DataMayBeAnyJsonValue) {
  EXPECT_EQ(accepted(message("t", "e", "\"s\""))[0].data, "\"s\"");
  EXPECT_EQ(accepted(message("t", "e", "3"))[0].data, "3");
  EXPECT_EQ(accepted(message("t", "e", "[1,2]"))[0].data, "[1,2]");
  EXPECT_EQ(accepted(message("t", "e", "null"))[0].data, "null");
  EXPECT_EQ(accepted(message("t", "e", "false"))[0].data, "false");
}

TEST(PublishRequestTest, DataIsReserializedCompactly) {
  const auto events =
      accepted("{ \"topic\" : \"t\", \"event\" : \"e\", \"data\" : { \"a\" : 1 } }");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, R"({"a":1})");
}

// Found by publish_request_fuzz (its crash input, reduced): 1e309 overflows a double, which
// Boost.JSON keeps as infinity and would relay as `Infinity`, not JSON, to every subscriber.
TEST(PublishRequestTest, DataWithANumberBeyondADoubleIsRefused) {
  const PublishRequestError single =
      rejected(R"({"topic":"channel:42","event":"chat.message.created","data":{"a":-1e309}})");
  EXPECT_EQ(single.code, ErrorCode::bad_request);
  EXPECT_THAT(single.message, HasSubstr("data"));
  const PublishRequestError batch = rejected(
      R"({"messages":[{"topic":"a","event":"e"},{"topic":"a","event":"e","data":[1e400]}]})");
  EXPECT_THAT(batch.message, HasSubstr("messages[1].data"));
}

// Boost 1.81's parser is not correctly rounded: a double may change in its last digit on the
// way (docs/reliability.md). Integers and short decimals pass unchanged.
TEST(PublishRequestTest, IntegersAndShortDecimalsPassUnchanged) {
  const auto events = accepted(
      R"({"topic":"t","event":"e","data":[0,-7,9007199254740993,18446744073709551615,0.5,-2.25]})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, R"([0,-7,9007199254740993,18446744073709551615,5E-1,-2.25E0])");
}

TEST(PublishRequestTest, UnknownFieldsAreIgnored) {
  EXPECT_EQ(accepted(R"({"topic":"t","event":"e","extra":1})").size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Batch

TEST(PublishRequestBatchTest, MessagesKeepTheirOrder) {
  const auto events =
      accepted(batch({message("a", "e1", "1"), message("b", "e2", "2"), message("a", "e3", "3")}));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].topic, "a");
  EXPECT_EQ(events[0].event, "e1");
  EXPECT_EQ(events[0].data, "1");
  EXPECT_EQ(events[1].topic, "b");
  EXPECT_EQ(events[1].event, "e2");
  EXPECT_EQ(events[2].topic, "a");
  EXPECT_EQ(events[2].event, "e3");
  EXPECT_EQ(events[2].data, "3");
}

TEST(PublishRequestBatchTest, SingleElementBatchIsOneEvent) {
  EXPECT_EQ(accepted(batch({message("t", "e")})).size(), 1u);
}

TEST(PublishRequestBatchTest, MessagesArrayTakesPrecedenceOverTopLevelFields) {
  const auto events =
      accepted(R"({"topic":"top","event":"x","messages":[{"topic":"inner","event":"y"}]})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].topic, "inner");
}

TEST(PublishRequestBatchTest, EmptyBatchIsRejected) {
  const PublishRequestError e = rejected(R"({"messages":[]})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("messages"));
}

TEST(PublishRequestBatchTest, MessagesThatIsNotAnArrayIsRejected) {
  const PublishRequestError e = rejected(R"({"messages":{"topic":"t","event":"e"}})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("messages"));
}

TEST(PublishRequestBatchTest, ExactlyMaxMessagesIsAccepted) {
  const PublishLimits limits{3, 65536};
  EXPECT_EQ(
      accepted(batch({message("t", "e"), message("t", "e"), message("t", "e")}), limits).size(),
      3u);
}

TEST(PublishRequestBatchTest, MoreThanMaxMessagesIsTooLarge) {
  const PublishLimits limits{3, 65536};
  const PublishRequestError e = rejected(
      batch({message("t", "e"), message("t", "e"), message("t", "e"), message("t", "e")}), limits);
  EXPECT_EQ(e.code, ErrorCode::message_too_large);
  EXPECT_THAT(e.message, HasSubstr("messages"));
  EXPECT_THAT(e.message, HasSubstr("3"));
}

TEST(PublishRequestBatchTest, DefaultLimitAcceptsAThousandMessages) {
  EXPECT_EQ(accepted(batch(std::vector<std::string>(1000, message("t", "e")))).size(), 1000u);
}

TEST(PublishRequestBatchTest, DefaultLimitRejectsAThousandAndOneMessages) {
  EXPECT_EQ(rejected(batch(std::vector<std::string>(1001, message("t", "e")))).code,
            ErrorCode::message_too_large);
}

TEST(PublishRequestBatchTest, OneBadMessageRejectsTheWholeBatch) {
  const PublishRequestError e =
      rejected(batch({message("a", "e"), message("b", "e"), message("bad topic", "e")}));
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, StartsWith("messages[2].topic"));
}

TEST(PublishRequestBatchTest, FirstBadMessageIsTheOneNamed) {
  const PublishRequestError e =
      rejected(batch({message("a", "e"), R"({"topic":"b"})", R"({"event":"c"})"}));
  EXPECT_THAT(e.message, StartsWith("messages[1].event"));
}

TEST(PublishRequestBatchTest, MissingTopicNamesItsIndex) {
  EXPECT_THAT(rejected(batch({message("a", "e"), R"({"event":"e"})"})).message,
              StartsWith("messages[1].topic"));
}

TEST(PublishRequestBatchTest, NonStringTopicNamesItsIndex) {
  EXPECT_THAT(rejected(batch({R"({"topic":5,"event":"e"})"})).message,
              StartsWith("messages[0].topic"));
}

TEST(PublishRequestBatchTest, BadEventNamesItsIndex) {
  EXPECT_THAT(
      rejected(batch({message("a", "e"), message("b", "e"), message("c", "no spaces")})).message,
      StartsWith("messages[2].event"));
}

TEST(PublishRequestBatchTest, NonObjectMessageNamesItsIndex) {
  const PublishRequestError e = rejected(batch({message("a", "e"), "42"}));
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("messages[1] must be an object"));
}

TEST(PublishRequestBatchTest, OversizedMessageIsTooLargeAndNamesItsIndex) {
  const PublishLimits limits{1000, 256};
  const std::string big = "\"" + std::string(300, 'x') + "\"";
  const PublishRequestError e =
      rejected(batch({message("a", "e"), message("b", "e", big)}), limits);
  EXPECT_EQ(e.code, ErrorCode::message_too_large);
  EXPECT_THAT(e.message, StartsWith("messages[1] "));
  EXPECT_THAT(e.message, HasSubstr("256"));
}

// ---------------------------------------------------------------------------------------------
// Field validation of a single message

TEST(PublishRequestFieldTest, MissingTopicIsNamed) {
  const PublishRequestError e = rejected(R"({"event":"e","data":{}})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, StartsWith("topic"));
}

TEST(PublishRequestFieldTest, NonStringTopicIsNamed) {
  EXPECT_THAT(rejected(R"({"topic":["a"],"event":"e"})").message, StartsWith("topic"));
}

TEST(PublishRequestFieldTest, EmptyTopicIsNamed) {
  EXPECT_THAT(rejected(message("", "e")).message, StartsWith("topic"));
}

TEST(PublishRequestFieldTest, TopicOf200BytesIsAccepted) {
  EXPECT_EQ(accepted(message(std::string(200, 't'), "e")).size(), 1u);
}

TEST(PublishRequestFieldTest, TopicOf201BytesIsNamed) {
  const PublishRequestError e = rejected(message(std::string(201, 't'), "e"));
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, StartsWith("topic"));
}

TEST(PublishRequestFieldTest, TopicWithBadCharacterIsNamed) {
  for (const char* topic : {"a b", "a#b", "a*", "caf\xc3\xa9", "a,b", "a?b"}) {
    EXPECT_THAT(rejected(message(topic, "e")).message, StartsWith("topic")) << topic;
  }
}

TEST(PublishRequestFieldTest, TopicWithEveryAllowedCharacterIsAccepted) {
  EXPECT_EQ(accepted(message("aZ09_.:@/-", "e")).size(), 1u);
}

TEST(PublishRequestFieldTest, MissingEventIsNamed) {
  EXPECT_THAT(rejected(R"({"topic":"t","data":{}})").message, StartsWith("event"));
}

TEST(PublishRequestFieldTest, NonStringEventIsNamed) {
  EXPECT_THAT(rejected(R"({"topic":"t","event":1})").message, StartsWith("event"));
}

TEST(PublishRequestFieldTest, EventWithBadCharacterIsNamed) {
  EXPECT_THAT(rejected(message("t", "a b")).message, StartsWith("event"));
}

TEST(PublishRequestFieldTest, EventOf201BytesIsNamed) {
  EXPECT_THAT(rejected(message("t", std::string(201, 'e'))).message, StartsWith("event"));
}

// ---------------------------------------------------------------------------------------------
// Body

TEST(PublishRequestBodyTest, NonJsonBodyIsABadRequest) {
  const PublishRequestError e = rejected("topic=t&event=e");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("JSON"));
}

TEST(PublishRequestBodyTest, EmptyBodyIsABadRequest) {
  EXPECT_EQ(rejected("").code, ErrorCode::bad_request);
}

TEST(PublishRequestBodyTest, ArrayBodyIsABadRequest) {
  const PublishRequestError e = rejected(R"([{"topic":"t","event":"e"}])");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, HasSubstr("object"));
}

TEST(PublishRequestBodyTest, ScalarBodyIsABadRequest) {
  EXPECT_EQ(rejected("\"hello\"").code, ErrorCode::bad_request);
  EXPECT_EQ(rejected("null").code, ErrorCode::bad_request);
}

// ---------------------------------------------------------------------------------------------
// Per-message size

TEST(PublishRequestSizeTest, MessageFarUnderTheLimitIsAccepted) {
  const PublishLimits limits{1000, 256};
  EXPECT_EQ(accepted(message("t", "e", "\"" + std::string(100, 'x') + "\""), limits).size(), 1u);
}

TEST(PublishRequestSizeTest, OversizedSingleMessageIsTooLarge) {
  const PublishLimits limits{1000, 256};
  const PublishRequestError e =
      rejected(message("t", "e", "\"" + std::string(300, 'x') + "\""), limits);
  EXPECT_EQ(e.code, ErrorCode::message_too_large);
  EXPECT_THAT(e.message, HasSubstr("256"));
  EXPECT_THAT(e.message, HasSubstr("REALTIME_MAX_MESSAGE_BYTES"));
}

TEST(PublishRequestSizeTest, LimitCountsTheDataAsItWillBeSent) {
  // Whitespace in the body is not sent to subscribers and must not count against the limit.
  const PublishLimits limits{1000, 256};
  const std::string padded = "{" + std::string(1000, ' ') + "\"k\":1}";
  EXPECT_EQ(accepted(message("t", "e", padded), limits).size(), 1u);
}

TEST(PublishRequestTest, TheEventsTopicIsReserved) {
  const PublishRequestError e = rejected(
      R"({"messages":[{"topic":"a","event":"e"},{"topic":"realtime.events","event":"e"}]})");
  EXPECT_EQ(e.code, ErrorCode::bad_request);
  EXPECT_THAT(e.message, ::testing::HasSubstr("messages[1].topic realtime.events is reserved"));
}

}  // namespace
}  // namespace realtime
