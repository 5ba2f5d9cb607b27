#include "ws/frame_codec.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "ws/deflate_codec.hpp"

namespace realtime::ws {
namespace {

// Packs the validator's state: bytes still expected, and the range allowed for the next one.
constexpr std::uint32_t pack(std::uint32_t remaining, std::uint32_t lo, std::uint32_t hi) {
  return remaining | (lo << 8) | (hi << 16);
}

bool valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::uint32_t utf8_step(std::uint32_t state, std::string_view bytes) {
  if (state == utf8_reject) return state;
  std::uint32_t remaining = state & 0xff, lo = (state >> 8) & 0xff, hi = (state >> 16) & 0xff;
  for (unsigned char b : bytes) {
    if (remaining == 0) {
      if (b < 0x80) continue;
      if (b >= 0xC2 && b <= 0xDF) {
        remaining = 1, lo = 0x80, hi = 0xBF;
      } else if (b == 0xE0) {
        remaining = 2, lo = 0xA0, hi = 0xBF;  // no overlong 3-byte forms
      } else if (b == 0xED) {
        remaining = 2, lo = 0x80, hi = 0x9F;  // no UTF-16 surrogates
      } else if (b >= 0xE1 && b <= 0xEF) {
        remaining = 2, lo = 0x80, hi = 0xBF;
      } else if (b == 0xF0) {
        remaining = 3, lo = 0x90, hi = 0xBF;  // no overlong 4-byte forms
      } else if (b >= 0xF1 && b <= 0xF3) {
        remaining = 3, lo = 0x80, hi = 0xBF;
      } else if (b == 0xF4) {
        remaining = 3, lo = 0x80, hi = 0x8F;  // nothing above U+10FFFF
      } else {
        return utf8_reject;
      }
    } else {
      if (b < lo || b > hi) return utf8_reject;
      --remaining, lo = 0x80, hi = 0xBF;
    }
  }
  return remaining == 0 ? utf8_accept : pack(remaining, lo, hi);
}

DecodeEvent FrameDecoder::fail(std::uint16_t code, std::string_view why) {
  failed_ = true;
  DecodeEvent e;
  e.kind = DecodeEvent::Kind::error;
  e.close_code = code;
  e.reason = why;
  return e;
}

FrameDecoder::FrameDecoder(std::size_t max_message_bytes)
    : max_message_(static_cast<std::uint32_t>(
          std::min<std::size_t>(max_message_bytes, std::numeric_limits<std::uint32_t>::max()))) {}

void FrameDecoder::feed(std::string_view bytes) {
  keep_rest();
  if (bytes.empty()) return;
  if (!owned_) owned_ = std::make_unique<std::string>();
  owned_->append(bytes);
  data_ = owned_->data();
  size_ = static_cast<std::uint32_t>(owned_->size());
}

void FrameDecoder::feed_in_place(char* bytes, std::size_t size) {
  // A frame begun in an earlier read continues here: it is decoded from one buffer, ours.
  if (borrowed_ || size_ > consumed_) return feed(std::string_view(bytes, size));
  data_ = bytes;
  size_ = static_cast<std::uint32_t>(size);
  consumed_ = 0;
  borrowed_ = size > 0;
}

void FrameDecoder::keep_rest() {
  const std::string_view rest = size_ > consumed_
                                    ? std::string_view(data_ + consumed_, size_ - consumed_)
                                    : std::string_view();
  if (rest.empty()) {
    // An idle connection keeps no input buffer: most clients send a frame now and then, and a
    // malloc per incomplete read costs less than tens of thousands of idle buffers.
    owned_.reset();
    data_ = nullptr;
  } else if (borrowed_) {
    if (!owned_) owned_ = std::make_unique<std::string>();
    owned_->assign(rest);
    data_ = owned_->data();
  } else if (consumed_ > 0) {
    owned_->erase(0, consumed_);
    data_ = owned_->data();
  }
  size_ = static_cast<std::uint32_t>(rest.size());
  consumed_ = 0;
  borrowed_ = false;
}

void FrameDecoder::shrink() {
  keep_rest();
  if (!in_message_ && fragments_ && fragments_->capacity() > 4096) fragments_.reset();
}

DecodeEvent FrameDecoder::next(Inflater* inflater) {
  if (failed_) return fail(1002, "the connection already failed");
  // The last message was handed out.
  if (!in_message_ && fragments_ && !fragments_->empty()) fragments_->clear();
  while (true) {
    const std::size_t avail = size_ - consumed_;
    if (avail < 2) break;
    const auto* p = reinterpret_cast<const unsigned char*>(data_ + consumed_);
    const bool fin = (p[0] & 0x80) != 0;
    const unsigned rsv = p[0] & 0x70;
    const auto op = static_cast<Opcode>(p[0] & 0x0F);
    const bool masked = (p[1] & 0x80) != 0;
    const unsigned len7 = p[1] & 0x7F;
    std::size_t header = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
    if (avail < header) break;
    // RSV1 (permessage-deflate) may open a data message of a connection that negotiated it.
    const bool compressed =
        rsv == 0x40 && inflater != nullptr && (p[0] & 0x08) == 0 && op != Opcode::continuation;
    if (rsv != 0 && !compressed) {
      return fail(1002, "reserved bits set without a negotiated extension");
    }
    if (!masked) return fail(1002, "client frames must be masked");
    std::uint64_t length = len7;
    if (len7 == 126) {
      length = (std::uint64_t{p[2]} << 8) | p[3];
    } else if (len7 == 127) {
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      if (length >> 63) return fail(1002, "frame length has its top bit set");
    }
    header += 4;
    const bool control = (static_cast<unsigned>(op) & 0x8) != 0;
    if (control) {
      if (op != Opcode::close && op != Opcode::ping && op != Opcode::pong) {
        return fail(1002, "unknown control opcode");
      }
      if (!fin) return fail(1002, "control frames must not be fragmented");
      if (length > 125) return fail(1002, "control frame longer than 125 bytes");
    } else {
      if (op != Opcode::continuation && op != Opcode::text && op != Opcode::binary) {
        return fail(1002, "unknown data opcode");
      }
      if (op == Opcode::continuation && !in_message_) {
        return fail(1002, "continuation frame without a message to continue");
      }
      if (op != Opcode::continuation && in_message_) {
        return fail(1002, "new message before the previous one ended");
      }
      const std::uint64_t so_far =
          op == Opcode::continuation && fragments_ ? fragments_->size() : 0;
      if (length > max_message_ || so_far + length > max_message_) {
        return fail(1009, "message larger than REALTIME_MAX_MESSAGE_BYTES");
      }
    }
    if (avail < header + length) break;

    // Unmask in place: the buffer is ours, or lent to us for that.
    char* payload = data_ + consumed_ + header;
    unsigned char mask[4];
    std::memcpy(mask, p + header - 4, 4);
    for (std::size_t i = 0; i < length; ++i) payload[i] ^= static_cast<char>(mask[i & 3]);
    const std::string_view data(payload, static_cast<std::size_t>(length));
    consumed_ += static_cast<std::uint32_t>(header + length);

    DecodeEvent e;
    if (control) {
      // Events view the bytes fed, which hold until the next call.
      if (op == Opcode::ping || op == Opcode::pong) {
        e.kind = op == Opcode::ping ? DecodeEvent::Kind::ping : DecodeEvent::Kind::pong;
        e.payload = data;
        return e;
      }
      if (data.size() == 1) return fail(1002, "close frame with a one-byte payload");
      e.kind = DecodeEvent::Kind::close;
      e.close_code = 1005;
      if (data.size() >= 2) {
        e.close_code = static_cast<std::uint16_t>((static_cast<unsigned char>(data[0]) << 8) |
                                                  static_cast<unsigned char>(data[1]));
        if (!valid_close_code(e.close_code)) return fail(1002, "invalid close code");
        e.reason = data.substr(2);
        if (utf8_step(utf8_accept, e.reason) != utf8_accept) {
          return fail(1007, "close reason is not UTF-8");
        }
      }
      return e;
    }

    if (op != Opcode::continuation) {
      in_message_ = true;
      message_text_ = op == Opcode::text;
      message_compressed_ = compressed;
      utf8_state_ = utf8_accept;
    }
    if (message_text_ && !message_compressed_) {  // compressed text is checked once inflated
      utf8_state_ = utf8_step(utf8_state_, data);
      if (utf8_state_ == utf8_reject) return fail(1007, "text message is not valid UTF-8");
    }
    if (!fin) {
      if (!fragments_) fragments_ = std::make_unique<std::string>();
      fragments_->append(data);
      continue;
    }
    in_message_ = false;
    if (message_text_ && utf8_state_ != utf8_accept) {
      return fail(1007, "text message ends inside a UTF-8 sequence");
    }
    e.kind = DecodeEvent::Kind::message;
    e.text = message_text_;
    if (!fragments_ || fragments_->empty()) {
      e.payload = data;  // the common case: one frame, no copy
    } else {
      fragments_->append(data);
      e.payload = *fragments_;
    }
    if (message_compressed_) {
      if (inflater == nullptr) return fail(1002, "compressed message without an inflater");
      // The bound applies to what the message inflates to: a bomb stops at it.
      switch (inflater->inflate(e.payload, max_message_)) {
        case Inflater::Result::ok:
          break;
        case Inflater::Result::too_big:
          return fail(1009, "message inflates to more than REALTIME_MAX_MESSAGE_BYTES");
        case Inflater::Result::corrupt:
          return fail(1007, "message is not valid permessage-deflate data");
      }
      e.payload = inflater->output();
      if (message_text_ && utf8_step(utf8_accept, e.payload) != utf8_accept) {
        return fail(1007, "text message is not valid UTF-8");
      }
    }
    return e;
  }
  // Keep only the unconsumed tail, so the buffer never holds more than one frame.
  keep_rest();
  return {};
}

void append_frame_header(std::string& out, Opcode opcode, std::size_t length) {
  out += static_cast<char>(0x80 | static_cast<unsigned>(opcode));
  if (length < 126) {
    out += static_cast<char>(length);
  } else if (length <= 0xFFFF) {
    out += static_cast<char>(126);
    out += static_cast<char>((length >> 8) & 0xff);
    out += static_cast<char>(length & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out += static_cast<char>((static_cast<std::uint64_t>(length) >> shift) & 0xff);
    }
  }
}

std::string encode_frame(Opcode opcode, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  append_frame_header(out, opcode, payload.size());
  out.append(payload);
  return out;
}

std::string_view server_frame_payload(std::string_view frame) {
  if (frame.size() < 2) return {};
  const auto len7 = static_cast<unsigned char>(frame[1]) & 0x7f;
  const std::size_t header = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
  return frame.size() < header ? std::string_view() : frame.substr(header);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xff);
  out.append(reason.substr(0, 123));
  return out;
}

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input += guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(encoded), static_cast<std::size_t>(n));
}

}  // namespace realtime::ws
