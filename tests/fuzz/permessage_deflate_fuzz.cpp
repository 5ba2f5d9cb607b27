// libFuzzer target: permessage-deflate (RFC 7692), the negotiation and the inflater, what a client
// controls in both. Input: the first line is a Sec-WebSocket-Extensions value, the rest a
// compressed message. Checks that an accepted offer names the extension, that the inflater
// never outputs more than its bound and says too_big when it would, that what inflated
// compresses and inflates back to itself, and that the frame decoder, given the message as a
// compressed frame, ends in a message or one of the close codes the protocol documents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "ws/deflate_codec.hpp"
#include "ws/deflate_offer.hpp"
#include "ws/frame_codec.hpp"

using realtime::ws::DecodeEvent;
using realtime::ws::Deflater;
using realtime::ws::FrameDecoder;
using realtime::ws::Inflater;

namespace {

constexpr std::size_t kMaxMessage = 4096;

bool contains_ignoring_case(std::string_view haystack, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool same = true;
    for (std::size_t k = 0; k < needle.size() && same; ++k) {
      const auto a = static_cast<unsigned char>(haystack[i + k]);
      const auto b = static_cast<unsigned char>(needle[k]);
      same = (a | 0x20) == (b | 0x20);
    }
    if (same) return true;
  }
  return false;
}

// A masked client frame, FIN and RSV1 set (a whole compressed message).
std::string compressed_frame(bool text, std::string_view payload) {
  std::string out;
  realtime::ws::append_deflated_frame_header(out, text, payload.size());
  out[1] = static_cast<char>(out[1] | 0x80);
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(payload[i] ^ key[i & 3]);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = realtime::fuzz::fields(realtime::fuzz::as_text(data, size), 2);
  const std::string_view offers = parts[0];
  const std::string_view compressed = parts[1];

  if (realtime::ws::accepts_deflate_offer(offers)) {
    FUZZ_CHECK(contains_ignoring_case(offers, "permessage-deflate"));
  }

  static Inflater inflater;  // one per shard in the server: reused across messages here too
  static Deflater deflater;
  const Inflater::Result result = inflater.inflate(compressed, kMaxMessage);
  if (result == Inflater::Result::ok) {
    FUZZ_CHECK(inflater.output().size() <= kMaxMessage);
    const std::string message(inflater.output());
    std::string again;
    FUZZ_CHECK(deflater.compress(message, again));
    FUZZ_CHECK(inflater.inflate(again, kMaxMessage) == Inflater::Result::ok);
    FUZZ_CHECK(inflater.output() == message);
  } else {
    FUZZ_CHECK(inflater.output().empty());
  }
  // too_big means it: with a larger bound, what inflates is larger than the first one.
  if (result == Inflater::Result::too_big &&
      inflater.inflate(compressed, 64 * kMaxMessage) == Inflater::Result::ok) {
    FUZZ_CHECK(inflater.output().size() > kMaxMessage);
  }

  for (const bool text : {true, false}) {
    FrameDecoder decoder(kMaxMessage);
    decoder.feed(compressed_frame(text, compressed));
    const DecodeEvent e = decoder.next(&inflater);
    if (e.kind == DecodeEvent::Kind::message) {
      FUZZ_CHECK(result == Inflater::Result::ok);
      FUZZ_CHECK(e.payload.size() <= kMaxMessage);
    } else {
      FUZZ_CHECK(e.kind == DecodeEvent::Kind::error);
      FUZZ_CHECK(e.close_code == 1007 || e.close_code == 1009);
      if (result == Inflater::Result::too_big) FUZZ_CHECK(e.close_code == 1009);
      if (result == Inflater::Result::corrupt) FUZZ_CHECK(e.close_code == 1007);
    }
  }
  return 0;
}
