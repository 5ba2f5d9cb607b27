#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace realtime::ws {

class Inflater;

// WebSocket (RFC 6455) server side, sans-io: bytes in, events out. The Asio layer feeds what it
// reads and carries out what comes back; no sockets here, so every rule is unit-testable.
enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// What the decoder found. `payload` views the bytes fed (or the decoder's own buffer): valid until
// the next call.
struct DecodeEvent {
  enum class Kind {
    need_more,  // everything fed so far is consumed; read more
    message,    // a complete text or binary message
    ping,       // answer with a pong carrying `payload`
    pong,
    close,  // the peer started (or answered) the closing handshake; `close_code` (1005: none)
    error,  // protocol violation: close with `close_code`, then drop the connection
  };
  Kind kind = Kind::need_more;
  bool text = false;
  std::string_view payload;
  std::uint16_t close_code = 0;
  std::string_view reason;  // why, for logs (error) or the peer's close reason
};

// Decodes client-to-server frames: enforces masking, reserved bits, control-frame rules,
// fragmentation order, the message size limit (1009) and UTF-8 in text (1007).
//
// permessage-deflate: a connection that negotiated it passes its shard's inflater to next().
// Then RSV1 on a data message's first frame marks it compressed: the message is inflated whole
// (bounded by the size limit: 1009) and corrupt deflate data fails with 1007. Without an
// inflater, or on a continuation or control frame, RSV1 is a protocol error (1002).
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_message_bytes);

  // Appends received bytes (copied). Then call next() until it says need_more.
  void feed(std::string_view bytes);
  // The same without a copy: next() decodes in the caller's buffer (unmasking it in place), which
  // must stay as it is until next() says need_more; what is left of it then (an incomplete
  // frame) is copied. A connection's reads land in its shard's buffer and are decoded there.
  void feed_in_place(char* bytes, std::size_t size);
  // `inflater`: the shard's, if this connection negotiated permessage-deflate. A message's
  // payload may then view the inflater's output: valid until its next use.
  DecodeEvent next(Inflater* inflater = nullptr);

  // Bytes held for an incomplete frame or message (for memory accounting and shrinking).
  std::size_t buffered() const {
    return std::size_t{size_ - consumed_} + (fragments_ ? fragments_->size() : 0);
  }
  void shrink();

 private:
  DecodeEvent fail(std::uint16_t code, std::string_view why);
  // need_more: keeps only the unconsumed bytes, in owned_ (none: no buffer at all).
  void keep_rest();

  // The bytes being decoded: the caller's (feed_in_place) or owned_'s. Sizes fit 32 bits: at
  // most one incomplete frame within the message limit plus one read.
  char* data_ = nullptr;
  std::unique_ptr<std::string> owned_;  // an incomplete frame's bytes; null when there are none
  // A fragmented message's frames so far; allocated by the first one (most never are).
  std::unique_ptr<std::string> fragments_;
  std::uint32_t size_ = 0;
  std::uint32_t consumed_ = 0;
  std::uint32_t max_message_;
  std::uint32_t utf8_state_ = 0;
  bool borrowed_ = false;  // data_ is the caller's
  bool in_message_ = false;
  bool message_text_ = false;
  bool message_compressed_ = false;
  bool failed_ = false;
};

// Encodes an unmasked server frame: header + payload, ready to write.
std::string encode_frame(Opcode opcode, std::string_view payload);
// Appends just the header for a payload of `length` bytes.
void append_frame_header(std::string& out, Opcode opcode, std::size_t length);
// The payload of a frame encode_frame() made (unmasked, header of 2, 4 or 10 bytes).
std::string_view server_frame_payload(std::string_view frame);
// A close frame's payload: code (big endian) + reason (truncated to fit 125 bytes).
std::string close_payload(std::uint16_t code, std::string_view reason);

// Incremental UTF-8 validation (RFC 3629: no overlongs, surrogates or code points above
// U+10FFFF). Feed chunks in order; utf8_accept after the last one means valid.
std::uint32_t utf8_step(std::uint32_t state, std::string_view bytes);
inline constexpr std::uint32_t utf8_accept = 0;
inline constexpr std::uint32_t utf8_reject = 0xFFFFFFFFu;

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
std::string accept_key(std::string_view client_key);

}  // namespace realtime::ws
