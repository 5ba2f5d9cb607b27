#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace realtime::testing {

// Who received which published event, for the fault tests' "exactly once, in order" checks. Each
// event carries a unique "pid" in its data; subscribers are numbered. A pid "<stream>-<n>" is the
// n-th event of one ordered stream (one publisher, or one topic published in sequence).
// Thread-safe.
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
  // Deliveries that arrived after a later event of their stream had reached the subscriber.
  std::size_t OutOfOrder() const;
  std::map<std::string, int> Answers() const;
  // Pids answered with `status`.
  std::vector<std::string> AnsweredWith(int status) const;
  // Pids answered with `status` at a time within [from, to].
  std::vector<std::string> AnsweredWithin(int status, std::chrono::steady_clock::time_point from,
                                          std::chrono::steady_clock::time_point to) const;
  // Pids answered 202 that some of subscribers 0..subscribers-1 never received.
  std::vector<std::string> Missed(std::size_t subscribers) const;
  // How long a fault lasted: the answers of `pids` in time order, split where two are more than
  // `gap` apart; the longest stretch from first to last (zero for none).
  std::chrono::milliseconds LongestStretch(const std::vector<std::string>& pids,
                                           std::chrono::milliseconds gap) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::size_t, std::size_t>> received_;  // pid -> subscriber -> n
  std::map<std::string, int> answers_;
  std::map<std::string, std::chrono::steady_clock::time_point> answered_at_;
  std::map<std::pair<std::size_t, std::string>, long long> last_;  // (subscriber, stream) -> n
  std::size_t out_of_order_ = 0;
};

}  // namespace realtime::testing
