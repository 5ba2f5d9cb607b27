#include "broker/redis_payload.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace realtime {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

std::string error_of(std::string_view topic, std::string_view payload) {
  std::string error;
  EXPECT_EQ(decode_redis_payload(topic, payload, error), std::nullopt) << payload;
  return error;
}

TEST(RedisPayloadTest, EncodesTopicEventDataAndTs) {
  const std::string p = encode_redis_payload({"chan:1", "e.x", R"({"a":[1]})", {}}, 1700);
  EXPECT_EQ(json::parse(p),
            json::parse(R"({"topic":"chan:1","event":"e.x","data":{"a":[1]},"ts":1700})"));
}

TEST(RedisPayloadTest, EncodesTheExcludedConnection) {
  const std::string p = encode_redis_payload({"t", "realtime.typing", "{}", "n1-4"}, 1);
  EXPECT_EQ(json::parse(p).at("exclude"), "n1-4");
}

TEST(RedisPayloadTest, RoundTrips) {
  const PublishedEvent e{"t", "e", R"({"k":"v"})", "c-1"};
  std::string error;
  const auto m = decode_redis_payload("t", encode_redis_payload(e, 99), error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(m->event.topic, "t");
  EXPECT_EQ(m->event.event, "e");
  EXPECT_EQ(m->event.data, R"({"k":"v"})");
  EXPECT_EQ(m->event.exclude_connection, "c-1");
  EXPECT_EQ(m->ts_ms, 99);
}

TEST(RedisPayloadTest, DirectPublishNeedsOnlyAnEvent) {
  std::string error;
  const auto m = decode_redis_payload("orders:7", R"({"event":"order.paid"})", error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(m->event.topic, "orders:7");
  EXPECT_EQ(m->event.data, "null");
  EXPECT_EQ(m->ts_ms, 0);
  EXPECT_TRUE(m->event.exclude_connection.empty());
}

TEST(RedisPayloadTest, MalformedPayloadsSayWhy) {
  EXPECT_THAT(error_of("t", "not json"), HasSubstr("not JSON"));
  EXPECT_THAT(error_of("t", "[]"), HasSubstr("object"));
  EXPECT_THAT(error_of("t", R"({"data":1})"), HasSubstr("event"));
  EXPECT_THAT(error_of("t", R"({"event":"a b"})"), HasSubstr("event"));
  EXPECT_THAT(error_of("t", R"({"topic":"u","event":"e"})"), HasSubstr("topic"));
  EXPECT_THAT(error_of("t", R"({"topic":7,"event":"e"})"), HasSubstr("topic"));
  EXPECT_THAT(error_of("t", R"({"event":"e","ts":-1})"), HasSubstr("ts"));
  EXPECT_THAT(error_of("t", R"({"event":"e","ts":1.5})"), HasSubstr("ts"));
  EXPECT_THAT(error_of("t", R"({"event":"e","exclude":1})"), HasSubstr("exclude"));
  // Relayed, infinity would be `Infinity`, which no subscriber can parse.
  EXPECT_THAT(error_of("t", R"({"event":"e","data":{"a":[1e999]}})"), HasSubstr("data"));
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

TEST(RedisPayloadTest, TheHistoryScriptsOffsetIsRead) {
  std::string error;
  auto m = decode_redis_payload("c", R"({"event":"m","data":1,"ts":5,"offset":12})", error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(m->offset, 12u);
  EXPECT_EQ(decode_redis_payload("c", R"({"event":"m"})", error)->offset, 0u);
  EXPECT_THAT(error_of("c", R"({"event":"m","offset":0})"), HasSubstr("offset"));
  EXPECT_THAT(error_of("c", R"({"event":"m","offset":-3})"), HasSubstr("offset"));
  EXPECT_THAT(error_of("c", R"({"event":"m","offset":"7"})"), HasSubstr("offset"));
}

}  // namespace
}  // namespace realtime
