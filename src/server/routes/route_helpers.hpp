#pragma once

#include <string_view>

#include "config/config.hpp"
#include "protocol/error_code.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"

namespace realtime {

// What every route handler shares: reading credentials and answering errors.

// Compares in time independent of where the first difference is, so a key can't be guessed
// byte by byte from response times.
bool constant_time_equal(std::string_view a, std::string_view b);

// The token of an `Authorization: Bearer <token>` header, empty when there is none.
std::string_view bearer_token(std::string_view authorization);

// The caller holds the server key (Authorization: Bearer, X-Plugin-Secret, X-Internal-Token or
// X-API-Key); in dev mode without a key, any loopback caller does.
bool has_server_key(const Config& config, const HttpRequest& request);

// 401 that says how to send the server key.
HttpResponse missing_server_key();

// {"error":code,"message"} with `status`, counted in the metrics.
HttpResponse error_response(Metrics& metrics, int status, ErrorCode code, std::string_view message);

}  // namespace realtime
