#pragma once

#include <chrono>

#include "broker/broker.hpp"
#include "config/config.hpp"
#include "server/http_api.hpp"
#include "server/metrics.hpp"

namespace realtime::routes {

// GET /health. 200 while this node delivers events, 503 when it can't (the engine is down).
// `status` is "ok" when every dependency answers, "degraded" otherwise: with a 503 the engine is
// down; with a 200 only the last-seen database is, whose rows wait and are retried.
HttpResponse health(const Config& config, const Broker& broker, const Metrics& metrics,
                    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

}  // namespace realtime::routes
