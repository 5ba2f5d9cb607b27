#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace realtime {

// Error codes of protocol v1 `error` frames and HTTP error bodies.
enum class ErrorCode {
  bad_request,
  forbidden,
  too_many_subscriptions,
  message_too_large,
  rate_limited,
  unavailable,
  internal,
  unauthorized,  // a refresh token that is invalid or expired
};
inline constexpr std::size_t error_code_count = 8;

std::string_view to_string(ErrorCode c);

// WebSocket close codes the server sends.
namespace close_code {
inline constexpr unsigned short normal = 1000;
inline constexpr unsigned short going_away = 1001;
inline constexpr unsigned short policy = 1008;
inline constexpr unsigned short too_large = 1009;
inline constexpr unsigned short unauthorized = 4001;
// The backend ended the connection (POST /realtime/disconnect): do not reconnect with the same
// token.
inline constexpr unsigned short disconnected = 4003;
inline constexpr unsigned short slow_consumer = 4008;
inline constexpr unsigned short heartbeat_timeout = 4009;
}  // namespace close_code

}  // namespace realtime
