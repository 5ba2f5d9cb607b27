#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace realtime::socketio {

// Engine.IO v4 packets (https://github.com/socketio/engine.io-protocol): a type digit, then data.
enum class EioPacketType : std::uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

struct EioPacket {
  EioPacketType type = EioPacketType::noop;
  std::string_view data;  // what follows the type digit: a view into the decoded text
};

enum class EioError : std::uint8_t {
  empty,         // no type digit at all
  unknown_type,  // the first byte is not 0-6
  binary,        // a binary packet: a WebSocket binary frame or 'b' + base64 in a polling payload
};

// Text for logs and close reasons.
std::string_view describe(EioError error);

using EioDecodeResult = std::variant<EioPacket, EioError>;

// One packet: a WebSocket text frame, or one record of a polling payload. Never throws. The
// gateway carries text only, so binary packets are refused (docs/socketio.md).
EioDecodeResult decode_eio_packet(std::string_view text);

// The packets a server sends that never change.
inline constexpr std::string_view eio_close_packet = "1";
inline constexpr std::string_view eio_ping_packet = "2";
inline constexpr std::string_view eio_noop_packet = "6";
inline constexpr std::string_view eio_probe_ping = "2probe";
inline constexpr std::string_view eio_probe_pong = "3probe";

// The handshake's open packet.
struct OpenParams {
  std::string_view sid;
  // Polling sessions may upgrade to WebSocket ("upgrades":["websocket"]); a WebSocket session
  // has nowhere to go ("upgrades":[]), as the reference server answers.
  bool can_upgrade = false;
  std::int64_t ping_interval_ms = 25000;
  std::int64_t ping_timeout_ms = 20000;
  std::size_t max_payload = 1000000;  // bytes per polling request the client may send
};

// 0{"sid":...,"upgrades":[...],"pingInterval":...,"pingTimeout":...,"maxPayload":...}
std::string encode_open(const OpenParams& params);

// The type digit followed by `data` verbatim.
std::string encode_eio_packet(EioPacketType type, std::string_view data = {});

}  // namespace realtime::socketio
