#include "protocol/socketio/engineio_packet.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace realtime::socketio {
namespace {

namespace json = boost::json;

EioPacket decoded(std::string_view text) {
  auto result = decode_eio_packet(text);
  if (auto* error = std::get_if<EioError>(&result)) {
    ADD_FAILURE() << "refused " << text << ": " << describe(*error);
    return {};
  }
  return std::get<EioPacket>(result);
}

EioError refused(std::string_view text) {
  auto result = decode_eio_packet(text);
  if (auto* error = std::get_if<EioError>(&result)) return *error;
  ADD_FAILURE() << "accepted " << text;
  return EioError::empty;
}

TEST(EngineIoPacketTest, DecodesEveryType) {
  const std::pair<std::string_view, EioPacketType> cases[] = {
      {"0", EioPacketType::open}, {"1", EioPacketType::close},   {"2", EioPacketType::ping},
      {"3", EioPacketType::pong}, {"4", EioPacketType::message}, {"5", EioPacketType::upgrade},
      {"6", EioPacketType::noop},
  };
  for (auto [text, type] : cases) {
    const EioPacket p = decoded(text);
    EXPECT_EQ(p.type, type) << text;
    EXPECT_EQ(p.data, "") << text;
  }
}

TEST(EngineIoPacketTest, DataIsWhatFollowsTheType) {
  EXPECT_EQ(decoded("4hello").data, "hello");
  EXPECT_EQ(decoded("2probe").data, "probe");
  EXPECT_EQ(decoded("42[\"a\"]").data, "2[\"a\"]");
  // Data is opaque at this layer, even bytes that are not UTF-8.
  EXPECT_EQ(decoded("4\xff\xfe").data, "\xff\xfe");
}

TEST(EngineIoPacketTest, DataIsAViewIntoTheInput) {
  const std::string text = "4payload";
  const EioPacket p = decoded(text);
  EXPECT_EQ(p.data.data(), text.data() + 1);
}

TEST(EngineIoPacketTest, RefusesEmpty) { EXPECT_EQ(refused(""), EioError::empty); }

TEST(EngineIoPacketTest, RefusesUnknownTypes) {
  for (std::string_view text : {"7", "9hello", "a", "x4", " 4", "-1", "/", "\x1e"}) {
    EXPECT_EQ(refused(text), EioError::unknown_type) << text;
  }
}

TEST(EngineIoPacketTest, RefusesBase64BinaryPackets) {
  EXPECT_EQ(refused("bAQIDBA=="), EioError::binary);
  EXPECT_EQ(refused("b"), EioError::binary);
}

TEST(EngineIoPacketTest, EveryErrorIsDescribed) {
  for (EioError e : {EioError::empty, EioError::unknown_type, EioError::binary}) {
    EXPECT_FALSE(describe(e).empty());
  }
  EXPECT_EQ(describe(EioError::binary), "binary packets are not supported");
}

TEST(EngineIoPacketTest, OpenPacketForPolling) {
  const std::string text = encode_open({.sid = "lv_VI97HAXpY6yYWAAAC",
                                        .can_upgrade = true,
                                        .ping_interval_ms = 25000,
                                        .ping_timeout_ms = 20000,
                                        .max_payload = 65536});
  ASSERT_EQ(text.front(), '0');
  EXPECT_EQ(text, R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,)"
                  R"("pingTimeout":20000,"maxPayload":65536})");
  // What the reference test suite checks: exactly these keys.
  const json::object obj = json::parse(text.substr(1)).as_object();
  EXPECT_EQ(obj.size(), 5u);
}

TEST(EngineIoPacketTest, OpenPacketForWebSocketHasNoUpgrades) {
  const std::string text = encode_open({.sid = "s", .can_upgrade = false});
  const json::value v = json::parse(text.substr(1));
  EXPECT_TRUE(v.at("upgrades").as_array().empty());
  EXPECT_EQ(v.at("pingInterval").to_number<std::int64_t>(), 25000);
  EXPECT_EQ(v.at("pingTimeout").to_number<std::int64_t>(), 20000);
  EXPECT_EQ(v.at("maxPayload").to_number<std::int64_t>(), 1000000);
}

TEST(EngineIoPacketTest, OpenPacketEscapesTheSid) {
  const std::string text = encode_open({.sid = "a\"b\\c"});
  EXPECT_EQ(json::parse(text.substr(1)).at("sid").as_string(), "a\"b\\c");
}

TEST(EngineIoPacketTest, EncodesAnyTypeWithData) {
  EXPECT_EQ(encode_eio_packet(EioPacketType::ping), "2");
  EXPECT_EQ(encode_eio_packet(EioPacketType::pong, "probe"), "3probe");
  EXPECT_EQ(encode_eio_packet(EioPacketType::message, "2[\"x\"]"), "42[\"x\"]");
  EXPECT_EQ(encode_eio_packet(EioPacketType::noop), eio_noop_packet);
  EXPECT_EQ(encode_eio_packet(EioPacketType::close), eio_close_packet);
  EXPECT_EQ(encode_eio_packet(EioPacketType::ping), eio_ping_packet);
}

TEST(EngineIoPacketTest, RoundTrip) {
  for (int t = 0; t <= 6; ++t) {
    const auto type = static_cast<EioPacketType>(t);
    const std::string text = encode_eio_packet(type, "data");
    const EioPacket p = decoded(text);
    EXPECT_EQ(p.type, type);
    EXPECT_EQ(p.data, "data");
  }
}

}  // namespace
}  // namespace realtime::socketio
