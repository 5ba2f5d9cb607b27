#pragma once

#include <string>
#include <string_view>

#include "broker/broker.hpp"
#include "server/http_types.hpp"
#include "server/metrics.hpp"

namespace realtime {

class HistoryPolicy;

// GET /realtime/history/:topic?since=N&limit=L: the first L events after offset N of a topic
// that keeps history, each as its v1 event frame, with the stream's epoch and offset. Access is
// the caller's (HttpApi: the server key, or a user allowed to subscribe).
class HistoryRoutes {
 public:
  static constexpr std::string_view prefix = "/realtime/history/";
  static constexpr std::size_t default_limit = 100;
  static constexpr std::size_t max_limit = 1000;

  HistoryRoutes(Broker& broker, Metrics& metrics) : broker_(broker), metrics_(metrics) {}
  void set_policy(const HistoryPolicy* policy) { policy_ = policy; }

  // `query` is the request's encoded query string.
  void read(const std::string& topic, std::string_view query, const Respond& respond);

 private:
  Broker& broker_;
  Metrics& metrics_;
  const HistoryPolicy* policy_ = nullptr;
};

// {"topic","epoch","offset","events":[<event frame JSON>...]} (exposed for tests).
std::string encode_history(std::string_view topic, const HistoryResult& result);

}  // namespace realtime
