// libFuzzer target: ws::FrameDecoder, the bytes a client sends after the handshake (masking,
// fragmentation, control frames, UTF-8, the size limit). The first input byte picks the size of
// the reads the bytes arrive in; the rest is the stream. Checks that reads of any size decode
// alike, copied or in place, that every event keeps RFC 6455's rules (against an independent UTF-8
// check), that the decoder's memory stays bounded, and that a decoded message framed again decodes
// to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "ws/frame_codec.hpp"

using realtime::ws::DecodeEvent;
using realtime::ws::FrameDecoder;
using realtime::ws::Opcode;

namespace {

constexpr std::size_t kMaxMessage = 1024;

// What a DecodeEvent said, copied (its views die with the next call).
struct Seen {
  DecodeEvent::Kind kind;
  bool text;
  std::string payload;
  std::uint16_t code;
  bool operator==(const Seen&) const = default;
};

// RFC 3629 by code points, written independently of ws::utf8_step.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

bool valid_close_code(std::uint16_t code) {
  return code == 1000 || code == 1001 || code == 1002 || code == 1003 || code == 1005 ||
         (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

// Feeds `stream` in reads of `chunk` bytes, collecting every event up to the first error.
// `in_place`: each read is decoded in a buffer of its own (as a connection's land in its shard's
// buffer), which is overwritten once the decoder said need_more.
std::vector<Seen> decode(std::string_view stream, std::size_t chunk, bool in_place = false) {
  FrameDecoder decoder(kMaxMessage);
  std::vector<Seen> seen;
  std::string read;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    if (in_place) {
      read.assign(stream.substr(at, chunk));
      decoder.feed_in_place(read.data(), read.size());
    } else {
      decoder.feed(stream.substr(at, chunk));
    }
    for (;;) {
      const DecodeEvent e = decoder.next();
      // Held at most: one incomplete frame (header + a payload within the limit), the message
      // so far, and this read.
      FUZZ_CHECK(decoder.buffered() <= 2 * kMaxMessage + 14 + chunk);
      if (e.kind == DecodeEvent::Kind::need_more) {
        decoder.shrink();
        read.assign(read.size(), '\xEE');  // the next read reuses the buffer
        break;
      }
      seen.push_back({e.kind, e.text, std::string(e.payload), e.close_code});
      switch (e.kind) {
        case DecodeEvent::Kind::message:
          FUZZ_CHECK(e.payload.size() <= kMaxMessage);
          FUZZ_CHECK(!e.text || valid_utf8(e.payload));
          break;
        case DecodeEvent::Kind::ping:
        case DecodeEvent::Kind::pong:
          FUZZ_CHECK(e.payload.size() <= 125);
          break;
        case DecodeEvent::Kind::close:
          FUZZ_CHECK(valid_close_code(e.close_code));
          FUZZ_CHECK(e.reason.size() <= 123 && valid_utf8(e.reason));
          break;
        case DecodeEvent::Kind::error: {
          FUZZ_CHECK(e.close_code == 1002 || e.close_code == 1007 || e.close_code == 1009);
          FUZZ_CHECK(!e.reason.empty());
          // A failed connection stays failed.
          decoder.feed("\x81\x80\0\0\0\0");
          FUZZ_CHECK(decoder.next().kind == DecodeEvent::Kind::error);
          return seen;
        }
        case DecodeEvent::Kind::need_more:
          break;
      }
    }
  }
  return seen;
}

// A client frame: masked with a key taken from the payload's length.
std::string masked_frame(bool fin, Opcode opcode, std::string_view payload) {
  std::string out;
  realtime::ws::append_frame_header(out, opcode, payload.size());
  if (!fin) out[0] = static_cast<char>(out[0] & 0x7F);
  out[1] = static_cast<char>(out[1] | 0x80);
  const char key[4] = {static_cast<char>(payload.size()), 0x5A, static_cast<char>(0xA5), 0x3C};
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(payload[i] ^ key[i & 3]);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] + 1U;
  const std::string_view stream = realtime::fuzz::as_text(data + 1, size - 1);

  const std::vector<Seen> chunked = decode(stream, chunk);
  const std::vector<Seen> whole = decode(stream, stream.size() + 1);
  FUZZ_CHECK(chunked == whole);
  FUZZ_CHECK(decode(stream, chunk, true) == whole);

  // Each message, framed again (in two fragments when it can be split), decodes to itself.
  for (const Seen& s : whole) {
    if (s.kind != DecodeEvent::Kind::message) continue;
    const Opcode op = s.text ? Opcode::text : Opcode::binary;
    std::string frames;
    if (s.payload.size() >= 2) {
      const std::size_t half = s.payload.size() / 2;
      frames = masked_frame(false, op, std::string_view(s.payload).substr(0, half)) +
               masked_frame(true, Opcode::continuation, std::string_view(s.payload).substr(half));
    } else {
      frames = masked_frame(true, op, s.payload);
    }
    const std::vector<Seen> again = decode(frames, frames.size());
    FUZZ_CHECK(again.size() == 1 && again[0] == s);
  }
  return 0;
}
