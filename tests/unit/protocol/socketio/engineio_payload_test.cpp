#include "protocol/socketio/engineio_payload.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace realtime::socketio {
namespace {

constexpr PayloadLimits limits{.max_bytes = 1000, .max_packets = 8};

std::vector<EioPacket> decoded(std::string_view body, const PayloadLimits& l = limits) {
  auto result = decode_payload(body, l);
  if (auto* error = std::get_if<PayloadDecodeError>(&result)) {
    ADD_FAILURE() << "refused: " << describe(*error);
    return {};
  }
  return std::get<std::vector<EioPacket>>(result);
}

PayloadDecodeError refused(std::string_view body, const PayloadLimits& l = limits) {
  auto result = decode_payload(body, l);
  if (auto* error = std::get_if<PayloadDecodeError>(&result)) return *error;
  ADD_FAILURE() << "accepted " << body;
  return {};
}

TEST(EngineIoPayloadTest, OnePacket) {
  const auto packets = decoded("4hello");
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].type, EioPacketType::message);
  EXPECT_EQ(packets[0].data, "hello");
}

TEST(EngineIoPayloadTest, SeveralPacketsInOrder) {
  // The spec's example, and the reference test suite's.
  const auto packets = decoded(
      "4hello\x1e"
      "2\x1e"
      "4world");
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0].type, EioPacketType::message);
  EXPECT_EQ(packets[0].data, "hello");
  EXPECT_EQ(packets[1].type, EioPacketType::ping);
  EXPECT_EQ(packets[1].data, "");
  EXPECT_EQ(packets[2].type, EioPacketType::message);
  EXPECT_EQ(packets[2].data, "world");
}

TEST(EngineIoPayloadTest, SocketIoEventsInOnePost) {
  const auto packets = decoded(
      "42[\"hello\"]\x1e"
      "42[\"world\"]\x1e"
      "3");
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0].data, "2[\"hello\"]");
  EXPECT_EQ(packets[1].data, "2[\"world\"]");
  EXPECT_EQ(packets[2].type, EioPacketType::pong);
}

TEST(EngineIoPayloadTest, PacketsAreViewsIntoTheBody) {
  const std::string body =
      "4a\x1e"
      "4b";
  const auto packets = decoded(body);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[1].data.data(), body.data() + 4);
}

TEST(EngineIoPayloadTest, EmptyBodyIsRefused) {
  const auto e = refused("");
  EXPECT_EQ(e.error, PayloadError::bad_packet);
  EXPECT_EQ(e.packet_error, EioError::empty);
  EXPECT_EQ(e.index, 0u);
}

TEST(EngineIoPayloadTest, EmptyRecordsAreRefused) {
  EXPECT_EQ(refused("4a\x1e").index, 1u);  // trailing separator
  EXPECT_EQ(refused("\x1e"
                    "4a")
                .index,
            0u);  // leading separator
  EXPECT_EQ(refused("4a\x1e\x1e"
                    "4b")
                .index,
            1u);  // two in a row
  EXPECT_EQ(refused("4a\x1e\x1e"
                    "4b")
                .packet_error,
            EioError::empty);
}

TEST(EngineIoPayloadTest, BinaryRecordIsRefusedWithItsIndex) {
  // The spec's example of a plain text and a binary packet.
  const auto e = refused(
      "4hello\x1e"
      "bAQIDBA==");
  EXPECT_EQ(e.error, PayloadError::bad_packet);
  EXPECT_EQ(e.packet_error, EioError::binary);
  EXPECT_EQ(e.index, 1u);
  EXPECT_EQ(describe(e), "packet 1: binary packets are not supported");
}

TEST(EngineIoPayloadTest, UnknownTypeIsRefused) {
  // The reference test suite's "invalid packet format".
  const auto e = refused("abc");
  EXPECT_EQ(e.error, PayloadError::bad_packet);
  EXPECT_EQ(e.packet_error, EioError::unknown_type);
  EXPECT_EQ(refused("4a\x1e"
                    "9b")
                .index,
            1u);
}

TEST(EngineIoPayloadTest, BodyOfExactlyMaxBytesIsAccepted) {
  const std::string body = "4" + std::string(999, 'x');
  ASSERT_EQ(body.size(), limits.max_bytes);
  EXPECT_EQ(decoded(body).size(), 1u);
}

TEST(EngineIoPayloadTest, BodyOverMaxBytesIsRefusedBeforeDecoding) {
  // Over the bound by one byte, and garbage: the size is what is reported.
  const std::string body = "z" + std::string(1000, 'x');
  EXPECT_EQ(refused(body).error, PayloadError::too_large);
  EXPECT_EQ(describe(refused(body)), "polling payload too large");
}

TEST(EngineIoPayloadTest, MaxPacketsIsAccepted) {
  std::string body = "3";
  for (int i = 1; i < 8; ++i)
    body +=
        "\x1e"
        "3";
  EXPECT_EQ(decoded(body).size(), 8u);
}

TEST(EngineIoPayloadTest, OneMoreThanMaxPacketsIsRefused) {
  std::string body = "3";
  for (int i = 1; i < 9; ++i)
    body +=
        "\x1e"
        "3";
  EXPECT_EQ(refused(body).error, PayloadError::too_many_packets);
}

TEST(EngineIoPayloadTest, ManySeparatorsAreBoundedByThePacketLimit) {
  // 999 empty records would be refused as empty anyway; the count bound stops a flood of tiny
  // valid ones.
  std::string body = "6";
  for (int i = 0; i < 400; ++i)
    body +=
        "\x1e"
        "6";
  const auto e = refused(body, {.max_bytes = 1 << 20, .max_packets = 100});
  EXPECT_EQ(e.error, PayloadError::too_many_packets);
}

TEST(EngineIoPayloadTest, EncodeJoinsWithTheSeparator) {
  const std::vector<std::string_view> packets = {"42[\"a\"]", "2", "6"};
  EXPECT_EQ(encode_payload(packets),
            "42[\"a\"]\x1e"
            "2\x1e"
            "6");
  const std::vector<std::string> owned = {"40{\"sid\":\"x\"}"};
  EXPECT_EQ(encode_payload(owned), "40{\"sid\":\"x\"}");
  EXPECT_EQ(encode_payload(std::vector<std::string_view>{}), "");
}

TEST(EngineIoPayloadTest, AppendToPayload) {
  std::string payload;
  append_to_payload(payload, "2");
  EXPECT_EQ(payload, "2");
  append_to_payload(payload, "42[1]");
  EXPECT_EQ(payload,
            "2\x1e"
            "42[1]");
}

TEST(EngineIoPayloadTest, RoundTrip) {
  const std::vector<std::string_view> packets = {"40", "42[\"e\",{\"a\":\"\\u001e\"}]", "3", "1"};
  const std::string body = encode_payload(packets);  // outlives the views into it
  const auto back = decoded(body);
  ASSERT_EQ(back.size(), packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(static_cast<char>('0' + static_cast<int>(back[i].type)), packets[i][0]);
    EXPECT_EQ(back[i].data, packets[i].substr(1));
  }
}

}  // namespace
}  // namespace realtime::socketio
