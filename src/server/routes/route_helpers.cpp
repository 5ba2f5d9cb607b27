#include "server/routes/route_helpers.hpp"

#include <algorithm>
#include <cctype>

#include "protocol/frame.hpp"

namespace realtime {

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view prefix = "Bearer ";
  if (authorization.size() > prefix.size() &&
      std::equal(prefix.begin(), prefix.end(), authorization.begin(),
                 [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return authorization.substr(prefix.size());
  }
  return {};
}

bool has_server_key(const Config& config, const HttpRequest& request) {
  if (config.api_key.empty()) return config.dev && request.from_loopback;
  for (std::string_view key :
       {bearer_token(request.header("authorization")), request.header("x-plugin-secret"),
        request.header("x-internal-token"), request.header("x-api-key")}) {
    if (!key.empty() && constant_time_equal(key, config.api_key)) return true;
  }
  return false;
}

HttpResponse missing_server_key() {
  return {401,
          "application/json",
          encode_http_error("unauthorized",
                            "send the server key as Authorization: Bearer <key>, X-Plugin-Secret, "
                            "X-Internal-Token or X-API-Key"),
          {}};
}

HttpResponse error_response(Metrics& metrics, int status, ErrorCode code,
                            std::string_view message) {
  metrics.count_error(code);
  return {status, "application/json", encode_http_error(code, message), {}};
}

}  // namespace realtime
