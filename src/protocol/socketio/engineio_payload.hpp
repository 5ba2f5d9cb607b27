#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/socketio/engineio_packet.hpp"

namespace realtime::socketio {

// Long-polling bodies (Engine.IO v4): packets joined by the record separator.
inline constexpr char record_separator = '\x1e';

struct PayloadLimits {
  std::size_t max_bytes = 1000000;  // the whole body; what the open packet announced as maxPayload
  std::size_t max_packets = 256;
};

enum class PayloadError : std::uint8_t {
  too_large,         // the body exceeds max_bytes
  too_many_packets,  // more than max_packets records
  bad_packet,        // one record does not decode (see packet_error)
};

struct PayloadDecodeError {
  PayloadError error = PayloadError::bad_packet;
  EioError packet_error = EioError::empty;  // set for bad_packet
  std::size_t index = 0;                    // the offending record for bad_packet
};

// Text for logs and the 400 body.
std::string describe(const PayloadDecodeError& error);

using PayloadDecodeResult = std::variant<std::vector<EioPacket>, PayloadDecodeError>;

// A POST body: all packets or none, so a session never acts on half a request. Packets are views
// into `body`. Never throws; an empty body or an empty record (a trailing separator) is a
// bad_packet, as for the reference parser.
PayloadDecodeResult decode_payload(std::string_view body, const PayloadLimits& limits);

// Joins encoded packets for a GET response. Packets the server encodes are JSON serialized by
// Boost.JSON or append_json_string, which escape control characters, so they never hold a raw
// separator.
void append_to_payload(std::string& payload, std::string_view packet);
std::string encode_payload(std::span<const std::string_view> packets);
std::string encode_payload(std::span<const std::string> packets);

}  // namespace realtime::socketio
