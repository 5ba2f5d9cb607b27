#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

namespace realtime::socketio {

// Socket.IO v5 packets (https://github.com/socketio/socket.io-protocol), default parser:
// <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
enum class SioPacketType : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

inline constexpr std::string_view main_namespace = "/";
inline constexpr std::size_t max_namespace_bytes = 128;
// The client's ack ids are JavaScript numbers counting up from 0: anything beyond the safe
// integers is not one of them.
inline constexpr std::uint64_t max_ack_id = 9007199254740991;  // 2^53 - 1

struct SioPacket {
  SioPacketType type = SioPacketType::connect;
  std::string nsp{main_namespace};
  std::optional<std::uint64_t> ack_id;
  // Null when absent. By type: CONNECT an object or null, DISCONNECT null, EVENT a non-empty
  // array whose first element is the event name (a string), ACK an array, CONNECT_ERROR a string
  // or an object. decode_sio_packet guarantees these shapes.
  boost::json::value data;

  // EVENT only: the name, and the arguments after it.
  std::string_view event_name() const;
  std::size_t arg_count() const;
  const boost::json::value* arg(std::size_t i) const;  // nullptr past the end
};

enum class SioError : std::uint8_t {
  empty,
  unknown_type,  // not 0-6
  binary,        // BINARY_EVENT / BINARY_ACK: attachments are not supported
  bad_namespace,
  bad_ack_id,    // too many digits, beyond max_ack_id, on a type that carries none, or ACK without
  invalid_json,  // not JSON (also: invalid UTF-8, junk after the payload or the ack id)
  bad_payload,   // JSON of the wrong shape for the type
};

std::string_view describe(SioError error);

using SioDecodeResult = std::variant<SioPacket, SioError>;

// The data of one Engine.IO message packet (what follows its '4'). Never throws. A namespace is
// 1-128 bytes of printable ASCII starting with '/'; which namespaces are served is not decided
// here. Event names the reference parser reserves (connect, disconnect, ...) are bad_payload, as
// there.
SioDecodeResult decode_sio_packet(std::string_view text);

}  // namespace realtime::socketio
