#include "ws/frame_codec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ws/deflate_codec.hpp"

namespace realtime::ws {
namespace {

using Kind = DecodeEvent::Kind;

// A client frame: masked with a fixed key, as browsers send them.
std::string client_frame(Opcode op, std::string_view payload, bool fin = true, bool mask = true,
                         unsigned rsv = 0) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | rsv | static_cast<unsigned>(op));
  const std::size_t n = payload.size();
  const char mask_bit = mask ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    out += static_cast<char>(mask_bit | n);
  } else if (n <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int s = 56; s >= 0; s -= 8) out += static_cast<char>((n >> s) & 0xff);
  }
  const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (mask) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i) {
    out += mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  }
  return out;
}

TEST(FrameDecoderTest, DecodesAMaskedTextMessage) {
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::text, R"({"type":"ping"})"));
  auto e = d.next();
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_TRUE(e.text);
  EXPECT_EQ(e.payload, R"({"type":"ping"})");
  EXPECT_EQ(d.next().kind, Kind::need_more);
}

TEST(FrameDecoderTest, DecodesByteByByte) {
  FrameDecoder d(1 << 20);
  const std::string payload(70000, 'x');  // 64-bit length form
  const std::string wire = client_frame(Opcode::binary, payload);
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
    d.feed(wire.substr(i, 1));
    ASSERT_EQ(d.next().kind, Kind::need_more) << i;
  }
  d.feed(wire.substr(wire.size() - 1));
  auto e = d.next();
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_FALSE(e.text);
  EXPECT_EQ(e.payload, payload);
}

TEST(FrameDecoderTest, DecodesSeveralFramesFromOneRead) {
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::text, "a") + client_frame(Opcode::ping, "p") +
         client_frame(Opcode::text, std::string(300, 'b')));
  auto a = d.next();
  ASSERT_EQ(a.kind, Kind::message);
  EXPECT_EQ(a.payload, "a");
  auto p = d.next();
  ASSERT_EQ(p.kind, Kind::ping);
  EXPECT_EQ(p.payload, "p");
  auto b = d.next();
  ASSERT_EQ(b.kind, Kind::message);
  EXPECT_EQ(b.payload, std::string(300, 'b'));
  EXPECT_EQ(d.next().kind, Kind::need_more);
}

TEST(FrameDecoderTest, DecodesInTheCallersBufferAndKeepsOnlyAnIncompleteFrame) {
  FrameDecoder d(1024);
  const std::string wire =
      client_frame(Opcode::text, "first") + client_frame(Opcode::text, "second");
  const std::size_t split = wire.size() - 3;  // the second frame arrives in two reads
  std::string read = wire.substr(0, split);
  d.feed_in_place(read.data(), read.size());
  auto a = d.next();
  ASSERT_EQ(a.kind, Kind::message);
  EXPECT_EQ(a.payload, "first");
  // No copy: the payload is the read's bytes, unmasked where they are.
  EXPECT_GE(a.payload.data(), read.data());
  EXPECT_LT(a.payload.data(), read.data() + read.size());
  EXPECT_EQ(d.next().kind, Kind::need_more);
  d.shrink();
  EXPECT_EQ(d.buffered(), split - client_frame(Opcode::text, "first").size());
  read.assign(read.size(), '\xEE');  // the shard's buffer takes the next read

  read = wire.substr(split);
  d.feed_in_place(read.data(), read.size());
  auto b = d.next();
  ASSERT_EQ(b.kind, Kind::message);
  EXPECT_EQ(b.payload, "second");
  EXPECT_EQ(d.next().kind, Kind::need_more);
  d.shrink();
  EXPECT_EQ(d.buffered(), 0U);
}

TEST(FrameDecoderTest, BytesLeftBehindACloseAreKeptBeforeTheBufferIsReused) {
  FrameDecoder d(1024);
  std::string read = client_frame(Opcode::close, "") + client_frame(Opcode::text, "late");
  d.feed_in_place(read.data(), read.size());
  EXPECT_EQ(d.next().kind, Kind::close);
  d.shrink();  // the stream stops draining at a close; the rest must not view the read buffer
  read.assign(read.size(), '\xEE');
  auto e = d.next();
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_EQ(e.payload, "late");
}

TEST(FrameDecoderTest, JoinsFragmentsWithControlFramesBetween) {
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::text, "hel", false) + client_frame(Opcode::pong, "") +
         client_frame(Opcode::continuation, "lo", false) +
         client_frame(Opcode::continuation, "!", true));
  EXPECT_EQ(d.next().kind, Kind::pong);
  auto e = d.next();
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_EQ(e.payload, "hello!");
}

TEST(FrameDecoderTest, CloseCarriesCodeAndReason) {
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::close, close_payload(1000, "bye")));
  auto e = d.next();
  ASSERT_EQ(e.kind, Kind::close);
  EXPECT_EQ(e.close_code, 1000);
  EXPECT_EQ(e.reason, "bye");

  FrameDecoder empty(1024);
  empty.feed(client_frame(Opcode::close, ""));
  EXPECT_EQ(empty.next().close_code, 1005);
}

struct Violation {
  const char* name;
  std::string wire;
  std::uint16_t code;
};

class FrameDecoderViolationTest : public ::testing::TestWithParam<Violation> {};

TEST_P(FrameDecoderViolationTest, FailsWithTheRightCloseCode) {
  FrameDecoder d(100);
  d.feed(GetParam().wire);
  auto e = d.next();
  ASSERT_EQ(e.kind, Kind::error) << GetParam().name;
  EXPECT_EQ(e.close_code, GetParam().code) << GetParam().name;
  EXPECT_EQ(d.next().kind, Kind::error);  // stays failed
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6455, FrameDecoderViolationTest,
    ::testing::Values(
        Violation{"unmasked", client_frame(Opcode::text, "x", true, false), 1002},
        Violation{"rsv1", client_frame(Opcode::text, "x", true, true, 0x40), 1002},
        Violation{"unknown_opcode", client_frame(static_cast<Opcode>(0x3), "x"), 1002},
        Violation{"unknown_control", client_frame(static_cast<Opcode>(0xB), "x"), 1002},
        Violation{"fragmented_ping", client_frame(Opcode::ping, "x", false), 1002},
        Violation{"long_ping", client_frame(Opcode::ping, std::string(126, 'x')), 1002},
        Violation{"lone_continuation", client_frame(Opcode::continuation, "x"), 1002},
        Violation{"interleaved_message",
                  client_frame(Opcode::text, "a", false) + client_frame(Opcode::text, "b"), 1002},
        Violation{"too_large", client_frame(Opcode::text, std::string(101, 'x')), 1009},
        Violation{"too_large_in_fragments",
                  client_frame(Opcode::text, std::string(60, 'x'), false) +
                      client_frame(Opcode::continuation, std::string(60, 'x')),
                  1009},
        Violation{"bad_utf8", client_frame(Opcode::text, "\xC3\x28"), 1007},
        Violation{"utf8_cut_at_end", client_frame(Opcode::text, "\xE2\x82"), 1007},
        Violation{"one_byte_close", client_frame(Opcode::close, "\x03"), 1002},
        Violation{"bad_close_code", client_frame(Opcode::close, close_payload(1005, "")), 1002}),
    [](const auto& info) { return std::string(info.param.name); });

// permessage-deflate: a connection that negotiated it passes its shard's inflater.
std::string deflated(std::string_view text) {
  Deflater deflater;
  std::string out;
  deflater.compress(text, out);
  return out;
}

TEST(FrameDecoderDeflateTest, InflatesACompressedMessage) {
  Inflater inflater;
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::text, deflated(R"({"type":"ping"})"), true, true, 0x40));
  auto e = d.next(&inflater);
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_TRUE(e.text);
  EXPECT_EQ(e.payload, R"({"type":"ping"})");
  // Uncompressed messages still pass on the same connection.
  d.feed(client_frame(Opcode::text, "plain"));
  e = d.next(&inflater);
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_EQ(e.payload, "plain");
}

TEST(FrameDecoderDeflateTest, InflatesAFragmentedCompressedMessage) {
  Inflater inflater;
  FrameDecoder d(1024);
  const std::string body = deflated(std::string(300, 'a') + "end");
  // RSV1 on the first frame only (RFC 7692 §6.1), a ping in between.
  d.feed(client_frame(Opcode::binary, body.substr(0, 3), false, true, 0x40));
  d.feed(client_frame(Opcode::ping, "p"));
  d.feed(client_frame(Opcode::continuation, body.substr(3)));
  EXPECT_EQ(d.next(&inflater).kind, Kind::ping);
  auto e = d.next(&inflater);
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_FALSE(e.text);
  EXPECT_EQ(e.payload, std::string(300, 'a') + "end");
}

struct DeflateViolation {
  std::string_view name;
  std::string wire;
  std::uint16_t code;
};

class FrameDecoderDeflateViolationTest : public ::testing::TestWithParam<DeflateViolation> {};

TEST_P(FrameDecoderDeflateViolationTest, FailsWithTheRightCloseCode) {
  Inflater inflater;
  FrameDecoder d(1000);
  d.feed(GetParam().wire);
  auto e = d.next(&inflater);
  while (e.kind == Kind::ping) e = d.next(&inflater);
  ASSERT_EQ(e.kind, Kind::error) << GetParam().name;
  EXPECT_EQ(e.close_code, GetParam().code) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc7692, FrameDecoderDeflateViolationTest,
    ::testing::Values(
        DeflateViolation{"rsv1_on_continuation",
                         client_frame(Opcode::text, deflated("abc"), false, true, 0x40) +
                             client_frame(Opcode::continuation, "x", true, true, 0x40),
                         1002},
        DeflateViolation{"rsv1_on_ping", client_frame(Opcode::ping, "x", true, true, 0x40), 1002},
        DeflateViolation{"rsv1_on_close",
                         client_frame(Opcode::close, close_payload(1000, ""), true, true, 0x40),
                         1002},
        DeflateViolation{"rsv2", client_frame(Opcode::text, "x", true, true, 0x20), 1002},
        DeflateViolation{"rsv1_and_rsv2",
                         client_frame(Opcode::text, deflated("x"), true, true, 0x60), 1002},
        DeflateViolation{
            "bomb",
            client_frame(Opcode::text, deflated(std::string(100000, 'x')), true, true, 0x40), 1009},
        DeflateViolation{"corrupt", client_frame(Opcode::text, "\xff\xff\xff", true, true, 0x40),
                         1007},
        DeflateViolation{"inflates_to_bad_utf8",
                         client_frame(Opcode::text, deflated("\xC3\x28"), true, true, 0x40), 1007},
        DeflateViolation{"compressed_larger_than_the_limit",
                         client_frame(Opcode::binary, std::string(1001, 'x'), true, true, 0x40),
                         1009}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FrameDecoderDeflateTest, RefusesRsv1WithoutANegotiatedExtension) {
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::text, deflated("hello"), true, true, 0x40));
  EXPECT_EQ(d.next().close_code, 1002);
}

TEST(FrameDecoderDeflateTest, CompressedBinaryNeedNotBeUtf8) {
  Inflater inflater;
  FrameDecoder d(1024);
  d.feed(client_frame(Opcode::binary, deflated("\xC3\x28"), true, true, 0x40));
  auto e = d.next(&inflater);
  ASSERT_EQ(e.kind, Kind::message);
  EXPECT_EQ(e.payload, "\xC3\x28");
}

TEST(FrameDecoderTest, OversizedFrameFailsBeforeItsPayloadArrives) {
  FrameDecoder d(100);
  std::string wire = client_frame(Opcode::text, std::string(5000, 'x'));
  d.feed(wire.substr(0, 8));  // header only
  EXPECT_EQ(d.next().close_code, 1009);
}

TEST(Utf8Test, AcceptsValidTextAcrossChunks) {
  const std::string euro = "\xE2\x82\xAC";
  std::uint32_t s = utf8_step(utf8_accept, euro.substr(0, 1));
  EXPECT_NE(s, utf8_accept);
  EXPECT_NE(s, utf8_reject);
  s = utf8_step(s, euro.substr(1));
  EXPECT_EQ(s, utf8_accept);
  EXPECT_EQ(utf8_step(utf8_accept, "plain ascii \xF0\x9F\x98\x80"), utf8_accept);
}

TEST(Utf8Test, RejectsOverlongsSurrogatesAndOutOfRange) {
  EXPECT_EQ(utf8_step(utf8_accept, "\xC0\xAF"), utf8_reject);          // overlong '/'
  EXPECT_EQ(utf8_step(utf8_accept, "\xE0\x80\xAF"), utf8_reject);      // overlong
  EXPECT_EQ(utf8_step(utf8_accept, "\xED\xA0\x80"), utf8_reject);      // surrogate
  EXPECT_EQ(utf8_step(utf8_accept, "\xF4\x90\x80\x80"), utf8_reject);  // > U+10FFFF
  EXPECT_EQ(utf8_step(utf8_accept, "\xFF"), utf8_reject);
}

TEST(FrameEncoderTest, UsesTheShortestLengthForm) {
  EXPECT_EQ(encode_frame(Opcode::text, std::string(125, 'x')).size(), 2u + 125);
  EXPECT_EQ(encode_frame(Opcode::text, std::string(126, 'x')).size(), 4u + 126);
  EXPECT_EQ(encode_frame(Opcode::text, std::string(65536, 'x')).size(), 10u + 65536);
  const std::string f = encode_frame(Opcode::text, "hi");
  EXPECT_EQ(static_cast<unsigned char>(f[0]), 0x81);  // FIN + text
  EXPECT_EQ(static_cast<unsigned char>(f[1]), 2);     // unmasked
}

TEST(HandshakeTest, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
}  // namespace realtime::ws
