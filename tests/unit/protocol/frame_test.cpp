#include "protocol/frame.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "ws/frame_codec.hpp"

namespace realtime {
namespace {

namespace json = boost::json;

// Parses `text` as one JSON object; fails the test when it is not one.
json::object parse_object(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    ADD_FAILURE() << "not valid JSON (" << ec.message() << "): " << text;
    return {};
  }
  if (!v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.as_object();
}

// append_json_string(s) parsed back as a JSON string.
std::string round_trip(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  json::error_code ec;
  json::value v = json::parse(out, ec);
  if (ec || !v.is_string()) {
    ADD_FAILURE() << "not a JSON string: " << out;
    return {};
  }
  return std::string(v.as_string());
}

// ---------------------------------------------------------------------------------------------
// append_json_string

TEST(AppendJsonStringTest, PlainTextIsQuoted) {
  std::string out;
  append_json_string(out, "hello");
  EXPECT_EQ(out, "\"hello\"");
}

TEST(AppendJsonStringTest, AppendsToWhatIsAlreadyThere) {
  std::string out = "x=";
  append_json_string(out, "y");
  EXPECT_EQ(out, "x=\"y\"");
}

TEST(AppendJsonStringTest, EmptyStringIsTwoQuotes) {
  std::string out;
  append_json_string(out, "");
  EXPECT_EQ(out, "\"\"");
}

TEST(AppendJsonStringTest, QuoteAndBackslashAreEscaped) {
  std::string out;
  append_json_string(out, "a\"b\\c");
  EXPECT_EQ(out, R"("a\"b\\c")");
}

TEST(AppendJsonStringTest, CommonControlCharactersUseShortEscapes) {
  std::string out;
  append_json_string(out, "\n\r\t");
  EXPECT_EQ(out, R"("\n\r\t")");
}

TEST(AppendJsonStringTest, OtherControlCharactersUseUnicodeEscapes) {
  std::string out;
  append_json_string(out, std::string_view("\x00\x01\x1f", 3));
  EXPECT_EQ(out, R"("\u0000\u0001\u001f")");
}

TEST(AppendJsonStringTest, EveryAsciiCharacterRoundTrips) {
  std::string all;
  for (int ch = 0; ch < 0x80; ++ch) all += static_cast<char>(ch);
  EXPECT_EQ(round_trip(all), all);
}

TEST(AppendJsonStringTest, Utf8PassesThroughUnchanged) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  std::string out;
  append_json_string(out, text);
  EXPECT_EQ(out, "\"" + text + "\"");
  EXPECT_EQ(round_trip(text), text);
}

TEST(AppendJsonStringTest, JsonInjectionAttemptStaysOneString) {
  const std::string evil = R"(","type":"admin","x":")";
  EXPECT_EQ(round_trip(evil), evil);
}

// ---------------------------------------------------------------------------------------------
// encode_event

TEST(EncodeEventTest, HasTypeTopicEventDataAndTs) {
  const json::object o =
      parse_object(encode_event("channel:42", "chat.message.created", R"({"text":"hi"})", 1234));
  EXPECT_EQ(o.at("type"), "event");
  EXPECT_EQ(o.at("topic"), "channel:42");
  EXPECT_EQ(o.at("event"), "chat.message.created");
  EXPECT_EQ(o.at("data"), json::parse(R"({"text":"hi"})"));
  EXPECT_EQ(o.at("ts"), 1234);
  EXPECT_EQ(o.size(), 5u);
}

TEST(EncodeEventTest, EmptyDataBecomesNull) {
  const json::object o = parse_object(encode_event("t", "e", "", 1));
  EXPECT_TRUE(o.at("data").is_null());
}

TEST(EncodeEventTest, DataIsEmbeddedVerbatim) {
  const std::string data = R"([1,"two",{"three":3.5},null,true])";
  const std::string frame = encode_event("t", "e", data, 1);
  EXPECT_NE(frame.find(data), std::string::npos);
  EXPECT_EQ(parse_object(frame).at("data"), json::parse(data));
}

TEST(EncodeEventTest, TopicAndEventAreEscaped) {
  const json::object o = parse_object(encode_event("a\"b", "c\\d\n", "1", 1));
  EXPECT_EQ(o.at("topic"), "a\"b");
  EXPECT_EQ(o.at("event"), "c\\d\n");
}

TEST(EncodeEventTest, LargeTimestampIsExact) {
  const std::int64_t ts = 1'900'000'000'123;
  EXPECT_EQ(parse_object(encode_event("t", "e", "1", ts)).at("ts").as_int64(), ts);
}

// ---------------------------------------------------------------------------------------------
// encode_welcome

TEST(EncodeWelcomeTest, HasEveryField) {
  const json::object o = parse_object(encode_welcome("node-1", "alice", 30, 1700000000000));
  EXPECT_EQ(o.at("type"), "welcome");
  EXPECT_EQ(o.at("connection_id"), "node-1");
  EXPECT_EQ(o.at("user_id"), "alice");
  EXPECT_EQ(o.at("heartbeat_seconds"), 30);
  EXPECT_EQ(o.at("server_time").as_int64(), 1700000000000);
  EXPECT_EQ(o.size(), 5u);
}

TEST(EncodeWelcomeTest, TypeComesFirst) {
  EXPECT_EQ(encode_welcome("c", "u", 1, 1).rfind("{\"type\":\"welcome\"", 0), 0u);
}

TEST(EncodeWelcomeTest, IdsAreEscaped) {
  const json::object o = parse_object(encode_welcome("c\"1", "u\x01", 5, 1));
  EXPECT_EQ(o.at("connection_id"), "c\"1");
  EXPECT_EQ(o.at("user_id"), "u\x01");
}

// ---------------------------------------------------------------------------------------------
// encode_reply

TEST(EncodeReplyTest, SubscribedHasTopicAndNumericId) {
  const json::object o = parse_object(encode_reply("subscribed", "1", "channel:42"));
  EXPECT_EQ(o.at("type"), "subscribed");
  EXPECT_EQ(o.at("topic"), "channel:42");
  EXPECT_EQ(o.at("id"), 1);
  EXPECT_EQ(o.size(), 3u);
}

TEST(EncodeReplyTest, UnsubscribedEchoesAStringId) {
  const json::object o = parse_object(encode_reply("unsubscribed", "\"req-2\"", "channel:42"));
  EXPECT_EQ(o.at("type"), "unsubscribed");
  EXPECT_EQ(o.at("id"), "req-2");
}

TEST(EncodeReplyTest, AckHasNoTopic) {
  const json::object o = parse_object(encode_reply("ack", "3"));
  EXPECT_EQ(o.at("type"), "ack");
  EXPECT_EQ(o.at("id"), 3);
  EXPECT_FALSE(o.contains("topic"));
}

TEST(EncodeReplyTest, EmptyIdIsLeftOut) {
  const json::object o = parse_object(encode_reply("subscribed", "", "t"));
  EXPECT_FALSE(o.contains("id"));
  EXPECT_EQ(o.at("topic"), "t");
}

TEST(EncodeReplyTest, AckWithoutIdIsJustTheType) {
  EXPECT_EQ(encode_reply("ack", ""), R"({"type":"ack"})");
}

TEST(EncodeReplyTest, FractionalIdIsEchoed) {
  EXPECT_DOUBLE_EQ(parse_object(encode_reply("ack", "2.5")).at("id").as_double(), 2.5);
}

// ---------------------------------------------------------------------------------------------
// encode_pong

TEST(EncodePongTest, HasTypeIdAndTs) {
  const json::object o = parse_object(encode_pong("5", 99));
  EXPECT_EQ(o.at("type"), "pong");
  EXPECT_EQ(o.at("id"), 5);
  EXPECT_EQ(o.at("ts"), 99);
  EXPECT_EQ(o.size(), 3u);
}

TEST(EncodePongTest, WithoutIdHasOnlyTypeAndTs) {
  const json::object o = parse_object(encode_pong("", 99));
  EXPECT_FALSE(o.contains("id"));
  EXPECT_EQ(o.at("ts"), 99);
}

// ---------------------------------------------------------------------------------------------
// encode_error

TEST(EncodeErrorTest, HasTypeIdCodeAndMessage) {
  const json::object o = parse_object(encode_error("3", ErrorCode::forbidden, "not allowed"));
  EXPECT_EQ(o.at("type"), "error");
  EXPECT_EQ(o.at("id"), 3);
  EXPECT_EQ(o.at("code"), "forbidden");
  EXPECT_EQ(o.at("message"), "not allowed");
  EXPECT_EQ(o.size(), 4u);
}

TEST(EncodeErrorTest, WithoutIdHasNoIdField) {
  const json::object o = parse_object(encode_error("", ErrorCode::bad_request, "m"));
  EXPECT_FALSE(o.contains("id"));
  EXPECT_EQ(o.at("code"), "bad_request");
}

TEST(EncodeErrorTest, MessageWithQuotesAndControlCharactersIsEscaped) {
  const std::string message = "\"topic\" must be\n\tvalid \x02 \\ ok";
  const json::object o = parse_object(encode_error("\"x\"", ErrorCode::bad_request, message));
  EXPECT_EQ(std::string(o.at("message").as_string()), message);
}

TEST(EncodeErrorTest, EveryErrorCodeIsEncodedByName) {
  const std::pair<ErrorCode, const char*> codes[] = {
      {ErrorCode::bad_request, "bad_request"},
      {ErrorCode::forbidden, "forbidden"},
      {ErrorCode::too_many_subscriptions, "too_many_subscriptions"},
      {ErrorCode::message_too_large, "message_too_large"},
      {ErrorCode::rate_limited, "rate_limited"},
      {ErrorCode::internal, "internal"},
      {ErrorCode::unauthorized, "unauthorized"},
      {ErrorCode::internal, "internal"},
  };
  static_assert(std::size(codes) == error_code_count);
  for (const auto& [code, name] : codes) {
    EXPECT_EQ(to_string(code), name);
    EXPECT_EQ(parse_object(encode_error("", code, "m")).at("code"), name);
  }
}

// ---------------------------------------------------------------------------------------------
// encode_http_error

TEST(EncodeHttpErrorTest, FromErrorCodeHasErrorAndMessage) {
  const json::object o = parse_object(encode_http_error(ErrorCode::message_too_large, "big"));
  EXPECT_EQ(o.at("error"), "message_too_large");
  EXPECT_EQ(o.at("message"), "big");
  EXPECT_EQ(o.size(), 2u);
}

TEST(EncodeHttpErrorTest, FromStringCodeHasErrorAndMessage) {
  const json::object o = parse_object(encode_http_error("not_found", "no such \"thing\""));
  EXPECT_EQ(o.at("error"), "not_found");
  EXPECT_EQ(o.at("message"), "no such \"thing\"");
}

// ---------------------------------------------------------------------------------------------
// Close codes

TEST(CloseCodeTest, MatchProtocolV1) {
  EXPECT_EQ(close_code::normal, 1000);
  EXPECT_EQ(close_code::going_away, 1001);
  EXPECT_EQ(close_code::policy, 1008);
  EXPECT_EQ(close_code::too_large, 1009);
  EXPECT_EQ(close_code::unauthorized, 4001);
  EXPECT_EQ(close_code::slow_consumer, 4008);
  EXPECT_EQ(close_code::heartbeat_timeout, 4009);
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

TEST(EncodeEventFrameTest, TheViewsPointAtTheEventNameAndDataInsideTheWireFrame) {
  const EventFrame f = encode_event_frame("channel:1", "chat.message.created", R"({"a":[1,2]})", 7);
  EXPECT_EQ(f.event, "chat.message.created");
  EXPECT_EQ(f.data, R"({"a":[1,2]})");
  const std::string_view wire(*f.wire);
  EXPECT_GE(f.event.data(), wire.data());
  EXPECT_LE(f.data.data() + f.data.size(), wire.data() + wire.size());
  EXPECT_EQ(
      wire.substr(2),
      R"({"type":"event","topic":"channel:1","event":"chat.message.created","data":{"a":[1,2]},"ts":7})");
  EXPECT_EQ(encode_event_frame("t", "e", "", 1).data, "null");
}

TEST(EncodeEventFrameTest, ANameThatNeedsEscapingHasNoView) {
  EXPECT_TRUE(encode_event_frame("t", "a\"b", "1", 1).event.empty());
}

TEST(JsonStringSizeTest, IsWhatAppendJsonStringAppendsForEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const char ch = static_cast<char>(b);
    const std::string_view one(&ch, 1);
    std::string out = "x";
    append_json_string(out, one);
    EXPECT_EQ(json_string_size(one), out.size() - 1) << "byte " << b;
  }
  std::string out;
  append_json_string(out, "a\"\\\n\x01z");
  EXPECT_EQ(json_string_size("a\"\\\n\x01z"), out.size());
}

// The frame is sized before it is written: its header must announce exactly the payload that
// follows, across the 7-bit, 16-bit and 64-bit length forms, with escapes, negative and large
// numbers and an offset.
TEST(EncodeEventFrameTest, TheHeaderAnnouncesThePayloadExactlyAtEveryLengthForm) {
  std::vector<std::size_t> sizes = {0, 1, 70000};
  for (std::size_t n = 50; n < 76; ++n) sizes.push_back(n);
  for (std::size_t n = 65450; n < 65540; n += 3) sizes.push_back(n);
  for (const std::size_t data_size : sizes) {
    const std::string data = data_size == 0 ? "" : "\"" + std::string(data_size, 'd') + "\"";
    for (const std::int64_t ts :
         {std::int64_t{0}, std::int64_t{-5}, std::int64_t{1'700'000'000'123}, INT64_MIN}) {
      for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{1}, UINT64_MAX}) {
        const EventFrame f = encode_event_frame("t\u00e9:\x01", "ev\"n", data, ts, offset);
        const std::string_view payload = ws::server_frame_payload(*f.wire);
        ASSERT_EQ(payload.size() + (payload.size() < 126     ? 2
                                    : payload.size() < 65536 ? 4
                                                             : 10),
                  f.wire->size())
            << "data " << data_size << " ts " << ts << " offset " << offset;
        const json::object o = parse_object(std::string(payload));
        EXPECT_EQ(o.at("topic").as_string(), "t\u00e9:\x01");
        EXPECT_EQ(o.at("event").as_string(), "ev\"n");
        EXPECT_EQ(o.at("ts").as_int64(), ts);
        EXPECT_EQ(o.contains("offset"), offset > 0);
        if (offset > 0) {
          EXPECT_EQ(json::value_to<std::uint64_t>(o.at("offset")), offset);
        }
        EXPECT_EQ(f.data, data.empty() ? "null" : data);
        EXPECT_EQ(payload.substr(0, 24), R"({"type":"event","topic":)");
      }
    }
  }
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

TEST(EncodeEventFrameTest, AnEventOfAHistoryTopicCarriesItsOffset) {
  const EventFrame f = encode_event_frame("channel:1", "m", "{}", 5, 42);
  EXPECT_NE(f.wire->find(R"("ts":5,"offset":42})"), std::string::npos) << *f.wire;
  EXPECT_EQ(encode_event_frame("channel:1", "m", "{}", 5).wire->find("offset"), std::string::npos);
}

TEST(EncodeReplyTest, SubscribedCarriesTheStreamsPositionOnAHistoryTopic) {
  const SubscribedPosition plain{"e1", 7, std::nullopt};
  EXPECT_EQ(encode_subscribed("1", "c", false, &plain),
            R"({"type":"subscribed","topic":"c","id":1,"epoch":"e1","offset":7})");
  const SubscribedPosition recovered{"e1", 7, true};
  EXPECT_EQ(encode_subscribed("", "c", true, &recovered),
            R"({"type":"subscribed","topic":"c","server":true,"epoch":"e1","offset":7,)"
            R"("recovered":true})");
  const SubscribedPosition lost{"e2", 0, false};
  EXPECT_EQ(encode_subscribed("2", "c", false, &lost),
            R"({"type":"subscribed","topic":"c","id":2,"epoch":"e2","offset":0,)"
            R"("recovered":false})");
  EXPECT_EQ(encode_subscribed("2", "c", false), R"({"type":"subscribed","topic":"c","id":2})");
}

}  // namespace
}  // namespace realtime
