#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct z_stream_s;

namespace realtime::ws {

// permessage-deflate's codecs (RFC 7692 §7.2), without context takeover: every message stands
// alone, so one compressor and one inflater serve a whole shard (a z_stream is ~256 KiB for
// deflate, ~40 KiB for inflate: never one per connection). Each allocates its zlib state on
// first use, so a shard that never compresses pays nothing. Not thread-safe: one per shard.

class Deflater {
 public:
  Deflater() = default;
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Appends `payload` compressed as one message (raw deflate, sync flush, the trailing
  // 00 00 ff ff removed) to `out`. False only if zlib fails (out of memory).
  bool compress(std::string_view payload, std::string& out);

 private:
  z_stream_s* stream_ = nullptr;
};

class Inflater {
 public:
  enum class Result { ok, too_big, corrupt };

  Inflater() = default;
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates one message into output() (replacing what was there). Never produces more than
  // max_bytes + 1 bytes: a message that would inflate past `max_bytes` is too_big, however
  // small it is compressed (a compression bomb costs at most max_bytes of work and memory).
  Result inflate(std::string_view compressed, std::size_t max_bytes);
  // The last message inflated: valid until the next inflate() or shrink().
  std::string_view output() const { return output_; }
  // Gives back a large output buffer once its message is handled.
  void shrink();

 private:
  z_stream_s* stream_ = nullptr;
  std::string output_;
};

// The compressed variant of a server text or binary frame made by encode_frame(), into `out`:
// false when the frame goes plain instead (its payload is shorter than `min_payload_bytes`,
// compressing does not make the frame smaller, or zlib failed).
bool deflate_frame(Deflater& deflater, std::string_view plain_frame, std::size_t min_payload_bytes,
                   std::string& out);

// A server frame's header for a message compressed with permessage-deflate: FIN, RSV1, opcode.
// (frame_codec's append_frame_header() writes uncompressed ones.)
void append_deflated_frame_header(std::string& out, bool text, std::size_t length);

}  // namespace realtime::ws
