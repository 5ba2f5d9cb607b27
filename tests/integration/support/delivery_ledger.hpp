#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace realtime::testing {

// Who received which published event, for the fault tests' "exactly once" checks. Each event
// carries a unique "pid" in its data; subscribers are numbered. Thread-safe.
class DeliveryLedger {
 public:
  // The data of an event that carries `pid`.
  static std::string Data(std::string_view pid);

  // A frame a subscriber received: counted when it is an event with a pid.
  void Received(std::size_t subscriber, std::string_view frame);
  // The publisher's answer for `pid`: an HTTP status, or 0 when the request failed without one
  // (connection refused or reset).
  void Answered(const std::string& pid, int status);

  // How many times `subscriber` received `pid`.
  std::size_t Count(std::size_t subscriber, const std::string& pid) const;
  // Subscribers that received `pid` at least once.
  std::size_t Receivers(const std::string& pid) const;
  // Deliveries beyond the first of any pid to any subscriber.
  std::size_t Duplicates() const;
  std::map<std::string, int> Answers() const;
  // Pids answered with `status`.
  std::vector<std::string> AnsweredWith(int status) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::size_t, std::size_t>> received_;  // pid -> subscriber -> n
  std::map<std::string, int> answers_;
};

}  // namespace realtime::testing
