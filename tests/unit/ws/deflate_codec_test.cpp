#include "ws/deflate_codec.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "ws/frame_codec.hpp"

namespace realtime::ws {
namespace {

std::string chat_json(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += R"({"id":")" + std::to_string(1000 + i) +
           R"(","channel":"general","user":{"id":"u-42","name":"Ada"},"text":"hello there"})";
  }
  return out + "]";
}

// Raw deflate of `data` with zlib itself at `level`, sync-flushed and without the 00 00 ff ff
// tail: what a client sends.
std::string client_deflate(std::string_view data, int level = 6) {
  z_stream s{};
  deflateInit2(&s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, data.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_SYNC_FLUSH);
  out.resize(out.size() - s.avail_out);
  deflateEnd(&s);
  return out.substr(0, out.size() - 4);
}

TEST(DeflaterTest, RoundTripsThroughTheInflater) {
  Deflater deflater;
  Inflater inflater;
  const std::string message = chat_json(20);
  std::string compressed;
  ASSERT_TRUE(deflater.compress(message, compressed));
  EXPECT_LT(compressed.size(), message.size() / 4);
  // The sync flush's tail is not sent.
  ASSERT_GE(compressed.size(), 4u);
  EXPECT_NE(compressed.substr(compressed.size() - 4), std::string("\0\0\xff\xff", 4));
  ASSERT_EQ(inflater.inflate(compressed, 1 << 20), Inflater::Result::ok);
  EXPECT_EQ(inflater.output(), message);
}

TEST(DeflaterTest, EveryMessageStandsAlone) {
  // No context takeover: the second message inflates without the first.
  Deflater deflater;
  std::string first, second;
  ASSERT_TRUE(deflater.compress(chat_json(3), first));
  ASSERT_TRUE(deflater.compress(chat_json(3), second));
  EXPECT_EQ(first, second);
  Inflater fresh;
  ASSERT_EQ(fresh.inflate(second, 1 << 20), Inflater::Result::ok);
  EXPECT_EQ(fresh.output(), chat_json(3));
}

TEST(DeflaterTest, CompressesAnEmptyMessage) {
  Deflater deflater;
  Inflater inflater;
  std::string compressed;
  ASSERT_TRUE(deflater.compress("", compressed));
  ASSERT_EQ(inflater.inflate(compressed, 10), Inflater::Result::ok);
  EXPECT_EQ(inflater.output(), "");
}

TEST(InflaterTest, InflatesWhatZlibMadeAtAnyLevel) {
  Inflater inflater;
  const std::string message = chat_json(100);
  for (int level : {0, 1, 9}) {
    ASSERT_EQ(inflater.inflate(client_deflate(message, level), 1 << 20), Inflater::Result::ok);
    EXPECT_EQ(inflater.output(), message) << level;
  }
}

TEST(InflaterTest, AcceptsAFinalBlock) {
  // A sender may end with BFINAL set (RFC 7692 §7.2.3.3 allows it).
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  const std::string message = chat_json(5);
  std::string out(1024, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  s.avail_in = static_cast<uInt>(message.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  ASSERT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - s.avail_out);
  deflateEnd(&s);
  Inflater inflater;
  ASSERT_EQ(inflater.inflate(out, 1 << 20), Inflater::Result::ok);
  EXPECT_EQ(inflater.output(), message);
  // Bytes after the final block are not deflate data.
  EXPECT_EQ(inflater.inflate(out + "xyz", 1 << 20), Inflater::Result::corrupt);
}

TEST(InflaterTest, StopsABombAtTheBound) {
  // 64 MiB of zeros compress to ~64 KiB; the bound is 64 KiB of output.
  const std::string zeros(64 << 20, '\0');
  const std::string bomb = client_deflate(zeros);
  ASSERT_LT(bomb.size(), 100u * 1024);
  Inflater inflater;
  EXPECT_EQ(inflater.inflate(bomb, 65536), Inflater::Result::too_big);
  EXPECT_TRUE(inflater.output().empty());
  // Exactly at the bound is fine; one byte more is not.
  EXPECT_EQ(inflater.inflate(client_deflate(std::string(65536, 'a')), 65536), Inflater::Result::ok);
  EXPECT_EQ(inflater.output().size(), 65536u);
  EXPECT_EQ(inflater.inflate(client_deflate(std::string(65537, 'a')), 65536),
            Inflater::Result::too_big);
}

TEST(InflaterTest, RefusesCorruptData) {
  Inflater inflater;
  // BTYPE 11 is reserved.
  EXPECT_EQ(inflater.inflate("\xff\xff\xff\xff", 1024), Inflater::Result::corrupt);
  // A stored block whose length and its complement disagree.
  EXPECT_EQ(inflater.inflate(std::string("\x00\x05\x00\x00\x00", 5), 1024),
            Inflater::Result::corrupt);
  // The inflater is reset per message: a good one after a bad one works.
  ASSERT_EQ(inflater.inflate(client_deflate("hello"), 1024), Inflater::Result::ok);
  EXPECT_EQ(inflater.output(), "hello");
}

TEST(InflaterTest, ATruncatedMessageIsNotAnError) {
  // Without a final block, deflate data can end anywhere: what inflated is the message.
  const std::string compressed = client_deflate(chat_json(10));
  Inflater inflater;
  EXPECT_EQ(inflater.inflate(compressed.substr(0, compressed.size() / 2), 1 << 20),
            Inflater::Result::ok);
}

TEST(DeflateFrameTest, CompressesALargeEnoughFrame) {
  Deflater deflater;
  const std::string payload = chat_json(5);
  const std::string plain = encode_frame(Opcode::text, payload);
  std::string out;
  ASSERT_TRUE(deflate_frame(deflater, plain, 256, out));
  EXPECT_LT(out.size(), plain.size());
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0xC1);  // FIN, RSV1, text
  const std::string_view body = server_frame_payload(out);
  Inflater inflater;
  ASSERT_EQ(inflater.inflate(body, 1 << 20), Inflater::Result::ok);
  EXPECT_EQ(inflater.output(), payload);
}

TEST(DeflateFrameTest, UsesTheHeaderTheCompressedLengthNeeds) {
  // A 64 KiB payload compresses below 126 bytes: the header shrinks from 4 bytes to 2.
  Deflater deflater;
  const std::string plain = encode_frame(Opcode::binary, std::string(60000, 'z'));
  std::string out;
  ASSERT_TRUE(deflate_frame(deflater, plain, 0, out));
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0xC2);  // FIN, RSV1, binary
  EXPECT_LT(static_cast<unsigned char>(out[1]), 126);
  EXPECT_EQ(out.size(), 2u + static_cast<unsigned char>(out[1]));
}

TEST(DeflateFrameTest, LeavesSmallFramesPlain) {
  Deflater deflater;
  std::string out;
  const std::string plain = encode_frame(Opcode::text, chat_json(1));
  ASSERT_LT(plain.size(), 256u);
  EXPECT_FALSE(deflate_frame(deflater, plain, 256, out));
  EXPECT_TRUE(deflate_frame(deflater, plain, 16, out));
}

TEST(DeflateFrameTest, LeavesIncompressibleFramesPlain) {
  Deflater deflater;
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 1000; ++i) {
    x = x * 1103515245 + 12345;
    noise += static_cast<char>(x >> 24);
  }
  std::string out;
  EXPECT_FALSE(deflate_frame(deflater, encode_frame(Opcode::binary, noise), 0, out));
}

}  // namespace
}  // namespace realtime::ws
