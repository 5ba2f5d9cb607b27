#pragma once

#include <chrono>
#include <optional>

#include "auth/jwks.hpp"
#include "broker/broker.hpp"
#include "config/config.hpp"
#include "server/http_api.hpp"
#include "server/metrics.hpp"

namespace realtime::routes {

// GET /health. 200 while this node delivers events, 503 when it can't (the engine is down).
// `status` is "ok" when every dependency answers, "degraded" otherwise: with a 503 the engine is
// down; with a 200 only the last-seen database (whose rows wait and are retried) or a jwk_url
// (whose last good key set still verifies) is. `jwks`: the key set's state, with a jwk_url.
HttpResponse health(const Config& config, const Broker& broker, const Metrics& metrics,
                    const std::optional<JwksStatus>& jwks = std::nullopt,
                    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

}  // namespace realtime::routes
