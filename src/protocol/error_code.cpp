#include "protocol/error_code.hpp"

namespace realtime {

std::string_view to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::bad_request:
      return "bad_request";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::too_many_subscriptions:
      return "too_many_subscriptions";
    case ErrorCode::message_too_large:
      return "message_too_large";
    case ErrorCode::rate_limited:
      return "rate_limited";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::unauthorized:
      return "unauthorized";
  }
  return "internal";
}

}  // namespace realtime
