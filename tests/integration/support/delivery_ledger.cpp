#include "support/delivery_ledger.hpp"

#include <algorithm>
#include <charconv>

namespace realtime::testing {

std::string DeliveryLedger::Data(std::string_view pid) {
  return R"({"pid":")" + std::string(pid) + "\"}";
}

void DeliveryLedger::Received(std::size_t subscriber, std::string_view frame) {
  constexpr std::string_view key = R"("pid":")";
  const auto at = frame.find(key);
  if (at == std::string_view::npos) return;
  const auto start = at + key.size();
  const auto end = frame.find('"', start);
  if (end == std::string_view::npos) return;
  const std::string_view pid = frame.substr(start, end - start);
  std::lock_guard lock(mutex_);
  ++received_[std::string(pid)][subscriber];
  const auto dash = pid.rfind('-');
  long long n = 0;
  if (dash == std::string_view::npos ||
      std::from_chars(pid.data() + dash + 1, pid.data() + pid.size(), n).ec != std::errc{}) {
    return;  // not part of a stream
  }
  auto [last, first] = last_.try_emplace({subscriber, std::string(pid.substr(0, dash))}, n);
  if (first) return;
  if (n < last->second) {
    ++out_of_order_;
  } else {
    last->second = n;
  }
}

std::size_t DeliveryLedger::OutOfOrder() const {
  std::lock_guard lock(mutex_);
  return out_of_order_;
}

void DeliveryLedger::Answered(const std::string& pid, int status) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  answers_[pid] = status;
  answered_at_[pid] = now;
}

std::size_t DeliveryLedger::Count(std::size_t subscriber, const std::string& pid) const {
  std::lock_guard lock(mutex_);
  const auto it = received_.find(pid);
  if (it == received_.end()) return 0;
  const auto n = it->second.find(subscriber);
  return n == it->second.end() ? 0 : n->second;
}

std::size_t DeliveryLedger::Receivers(const std::string& pid) const {
  std::lock_guard lock(mutex_);
  const auto it = received_.find(pid);
  return it == received_.end() ? 0 : it->second.size();
}

std::size_t DeliveryLedger::Duplicates() const {
  std::lock_guard lock(mutex_);
  std::size_t extra = 0;
  for (const auto& [pid, by] : received_) {
    for (const auto& [subscriber, n] : by) extra += n - 1;
  }
  return extra;
}

std::map<std::string, int> DeliveryLedger::Answers() const {
  std::lock_guard lock(mutex_);
  return answers_;
}

std::vector<std::string> DeliveryLedger::AnsweredWith(int status) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [pid, s] : answers_) {
    if (s == status) out.push_back(pid);
  }
  return out;
}

std::vector<std::string> DeliveryLedger::AnsweredWithin(
    int status, std::chrono::steady_clock::time_point from,
    std::chrono::steady_clock::time_point to) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [pid, s] : answers_) {
    if (s != status) continue;
    const auto at = answered_at_.find(pid);
    if (at != answered_at_.end() && at->second >= from && at->second <= to) out.push_back(pid);
  }
  return out;
}

std::vector<std::string> DeliveryLedger::Missed(std::size_t subscribers) const {
  std::vector<std::string> out;
  for (const auto& pid : AnsweredWith(202)) {
    for (std::size_t s = 0; s < subscribers; ++s) {
      if (Count(s, pid) == 0) {
        out.push_back(pid);
        break;
      }
    }
  }
  return out;
}

std::chrono::milliseconds DeliveryLedger::LongestStretch(const std::vector<std::string>& pids,
                                                         std::chrono::milliseconds gap) const {
  std::vector<std::chrono::steady_clock::time_point> times;
  {
    std::lock_guard lock(mutex_);
    for (const auto& pid : pids) {
      const auto it = answered_at_.find(pid);
      if (it != answered_at_.end()) times.push_back(it->second);
    }
  }
  std::sort(times.begin(), times.end());
  std::chrono::steady_clock::duration longest{0};
  for (std::size_t start = 0, i = 1; i <= times.size(); ++i) {
    if (i == times.size() || times[i] - times[i - 1] > gap) {
      longest = std::max(longest, times[i - 1] - times[start]);
      start = i;
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(longest);
}

}  // namespace realtime::testing
