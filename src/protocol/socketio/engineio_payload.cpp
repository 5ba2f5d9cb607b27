#include "protocol/socketio/engineio_payload.hpp"

namespace realtime::socketio {

std::string describe(const PayloadDecodeError& error) {
  switch (error.error) {
    case PayloadError::too_large:
      return "polling payload too large";
    case PayloadError::too_many_packets:
      return "too many packets in one polling payload";
    case PayloadError::bad_packet:
      return "packet " + std::to_string(error.index) + ": " +
             std::string(describe(error.packet_error));
  }
  return "invalid polling payload";
}

PayloadDecodeResult decode_payload(std::string_view body, const PayloadLimits& limits) {
  if (body.size() > limits.max_bytes) return PayloadDecodeError{PayloadError::too_large};
  std::vector<EioPacket> packets;
  std::size_t start = 0;
  while (true) {
    if (packets.size() == limits.max_packets) {
      return PayloadDecodeError{PayloadError::too_many_packets};
    }
    const std::size_t end = body.find(record_separator, start);
    const std::string_view record =
        body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    auto decoded = decode_eio_packet(record);
    if (auto* error = std::get_if<EioError>(&decoded)) {
      return PayloadDecodeError{PayloadError::bad_packet, *error, packets.size()};
    }
    packets.push_back(std::get<EioPacket>(decoded));
    if (end == std::string_view::npos) return packets;
    start = end + 1;
  }
}

void append_to_payload(std::string& payload, std::string_view packet) {
  if (!payload.empty()) payload += record_separator;
  payload += packet;
}

namespace {

template <typename Packets>
std::string join(const Packets& packets) {
  std::size_t size = packets.size();
  for (const auto& p : packets) size += p.size();
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i > 0) out += record_separator;
    out += packets[i];
  }
  return out;
}

}  // namespace

std::string encode_payload(std::span<const std::string_view> packets) { return join(packets); }
std::string encode_payload(std::span<const std::string> packets) { return join(packets); }

}  // namespace realtime::socketio
