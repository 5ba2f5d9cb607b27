#pragma once
// Minimal WebSocket framing for the load generator (RFC 6455 §5.2). The client only needs to
// read unmasked server frames and write small masked frames; doing that by hand on a raw Asio
// socket is several times cheaper per message than a full websocket::stream read, which keeps
// the load generator from being the bottleneck on a machine it shares with the server.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace rtbench {

enum Opcode : std::uint8_t {
  op_continuation = 0x0,
  op_text = 0x1,
  op_binary = 0x2,
  op_close = 0x8,
  op_ping = 0x9,
  op_pong = 0xA,
};

struct FrameView {
  std::uint8_t opcode = 0;
  bool fin = true;
  bool rsv1 = false;  // permessage-deflate: a compressed message
  std::string_view payload;
};

enum class ParseStatus { ok, incomplete, error };

// Parses one frame at the start of [data, data + size). On ok, `consumed` is the frame's size.
// On incomplete, `needed` is the total size the frame needs (when the header is complete; else
// a small lower bound), so a caller can grow its buffer. Masked server frames are an error.
inline ParseStatus parse_frame(const char* data, std::size_t size, FrameView& out,
                               std::size_t& consumed, std::size_t& needed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  if (size < 2) {
    needed = 2;
    return ParseStatus::incomplete;
  }
  const bool masked = (p[1] & 0x80) != 0;
  if (masked) return ParseStatus::error;
  std::uint64_t len = p[1] & 0x7F;
  std::size_t header = 2;
  if (len == 126) {
    header = 4;
    if (size < header) {
      needed = header;
      return ParseStatus::incomplete;
    }
    len = (std::uint64_t(p[2]) << 8) | p[3];
  } else if (len == 127) {
    header = 10;
    if (size < header) {
      needed = header;
      return ParseStatus::incomplete;
    }
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    if (len > (std::uint64_t(1) << 32)) return ParseStatus::error;
  }
  const std::size_t total = header + static_cast<std::size_t>(len);
  if (size < total) {
    needed = total;
    return ParseStatus::incomplete;
  }
  out.fin = (p[0] & 0x80) != 0;
  out.rsv1 = (p[0] & 0x40) != 0;
  out.opcode = p[0] & 0x0F;
  out.payload = std::string_view(data + header, static_cast<std::size_t>(len));
  consumed = total;
  return ParseStatus::ok;
}

// Appends one complete, masked client frame.
inline void append_masked_frame(std::string& out, std::uint8_t opcode, std::string_view payload,
                                std::uint32_t mask_key) {
  out.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t len = payload.size();
  if (len < 126) {
    out.push_back(static_cast<char>(0x80 | len));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>((len >> 8) & 0xFF));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((std::uint64_t(len) >> (8 * i)) & 0xFF));
  }
  unsigned char mask[4];
  std::memcpy(mask, &mask_key, 4);
  out.append(reinterpret_cast<const char*>(mask), 4);
  const std::size_t start = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < len; ++i) out[start + i] = static_cast<char>(out[start + i] ^ mask[i & 3]);
}

}  // namespace rtbench
