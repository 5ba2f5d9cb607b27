#include "ws/deflate_codec.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "ws/frame_codec.hpp"

namespace realtime::ws {
namespace {

// The empty stored block a sync flush ends with: removed by the sender, put back by the
// receiver (RFC 7692 §7.2.1, §7.2.2).
constexpr unsigned char sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

// Raw deflate (no zlib header), the full 32 KiB window the RFC's default allows.
constexpr int window_bits = 15;
// Memory level 8 (zlib's default): a 64 KiB hash table, per shard.
constexpr int mem_level = 8;
// zlib's default level. On a 640-byte chat event levels 1 to 9 differ by 1 % (410 vs 407 bytes);
// on larger events the higher level gains more, and its cost is paid once per publish per node,
// not per subscriber (docs/performance.md, "permessage-deflate").
constexpr int level = 6;

}  // namespace

Deflater::~Deflater() {
  if (stream_ != nullptr) {
    deflateEnd(stream_);
    delete stream_;
  }
}

bool Deflater::compress(std::string_view payload, std::string& out) {
  if (stream_ == nullptr) {
    auto* s = new z_stream{};
    if (deflateInit2(s, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
      delete s;
      return false;
    }
    stream_ = s;
  } else if (deflateReset(stream_) != Z_OK) {
    return false;
  }
  const std::size_t start = out.size();
  // deflateBound() is for Z_FINISH; a sync flush adds at most a few bytes more.
  std::size_t room = deflateBound(stream_, static_cast<uLong>(payload.size())) + 16;
  stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  stream_->avail_in = static_cast<uInt>(payload.size());
  std::size_t produced = 0;
  while (true) {
    out.resize(start + produced + room);
    stream_->next_out = reinterpret_cast<Bytef*>(out.data() + start + produced);
    stream_->avail_out = static_cast<uInt>(room);
    const int rc = deflate(stream_, Z_SYNC_FLUSH);
    produced += room - stream_->avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.resize(start);
      return false;
    }
    // Done when the input is used up and zlib did not fill the room it had.
    if (stream_->avail_in == 0 && stream_->avail_out != 0) break;
  }
  out.resize(start + produced);
  if (produced >= 4 && std::memcmp(out.data() + out.size() - 4, sync_tail, 4) == 0) {
    out.resize(out.size() - 4);
  }
  return true;
}

Inflater::~Inflater() {
  if (stream_ != nullptr) {
    inflateEnd(stream_);
    delete stream_;
  }
}

Inflater::Result Inflater::inflate(std::string_view compressed, std::size_t max_bytes) {
  output_.clear();
  if (stream_ == nullptr) {
    auto* s = new z_stream{};
    if (inflateInit2(s, -window_bits) != Z_OK) {
      delete s;
      return Result::corrupt;
    }
    stream_ = s;
  } else if (inflateReset(stream_) != Z_OK) {
    return Result::corrupt;
  }
  // The message, then the tail the sender removed.
  const std::string_view parts[2] = {compressed,
                                     std::string_view(reinterpret_cast<const char*>(sync_tail), 4)};
  const std::size_t limit = max_bytes + 1;  // one byte past the bound proves it is exceeded
  std::size_t produced = 0;
  for (int part = 0; part < 2; ++part) {
    stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(parts[part].data()));
    stream_->avail_in = static_cast<uInt>(parts[part].size());
    // Until the input is used up and zlib stops filling the room it has (a long match may
    // still be copying when the input is gone).
    do {
      if (produced == output_.size()) {
        // Grow as the output does: a small message never reserves max_bytes.
        const std::size_t want = std::max<std::size_t>(1024, 2 * output_.size());
        output_.resize(std::min(limit, std::max(want, 4 * compressed.size())));
      }
      stream_->next_out = reinterpret_cast<Bytef*>(output_.data() + produced);
      stream_->avail_out = static_cast<uInt>(output_.size() - produced);
      const int rc = ::inflate(stream_, Z_SYNC_FLUSH);
      produced = output_.size() - stream_->avail_out;
      if (produced > max_bytes) {
        output_.clear();
        return Result::too_big;
      }
      if (rc == Z_STREAM_END) {
        // A final block ends the message: bytes after it are not deflate data.
        if (part == 0 && stream_->avail_in > 0) {
          output_.clear();
          return Result::corrupt;
        }
        break;
      }
      if (rc == Z_BUF_ERROR && stream_->avail_out != 0) break;  // wants input it has not got
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        output_.clear();
        return Result::corrupt;
      }
    } while (stream_->avail_in > 0 || stream_->avail_out == 0);
  }
  output_.resize(produced);
  return Result::ok;
}

void Inflater::shrink() {
  if (output_.capacity() > 64 * 1024) std::string().swap(output_);
}

bool deflate_frame(Deflater& deflater, std::string_view plain_frame, std::size_t min_payload_bytes,
                   std::string& out) {
  const std::string_view payload = server_frame_payload(plain_frame);
  if (payload.size() < min_payload_bytes || plain_frame.empty()) return false;
  const bool text =
      (static_cast<unsigned char>(plain_frame[0]) & 0x0F) == static_cast<unsigned>(Opcode::text);
  // Compressed behind room for the longest header, which then goes right in front of it.
  constexpr std::size_t max_header = 10;
  out.assign(max_header, '\0');
  if (!deflater.compress(payload, out)) return false;
  const std::size_t length = out.size() - max_header;
  std::string header;
  append_deflated_frame_header(header, text, length);
  if (header.size() + length >= plain_frame.size()) return false;  // not worth it
  out.replace(0, max_header, header);
  return true;
}

void append_deflated_frame_header(std::string& out, bool text, std::size_t length) {
  const std::size_t at = out.size();
  append_frame_header(out, text ? Opcode::text : Opcode::binary, length);
  out[at] = static_cast<char>(out[at] | 0x40);  // RSV1: this message is compressed
}

}  // namespace realtime::ws
