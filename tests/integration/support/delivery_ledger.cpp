#include "support/delivery_ledger.hpp"

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
  std::lock_guard lock(mutex_);
  ++received_[std::string(frame.substr(start, end - start))][subscriber];
}

void DeliveryLedger::Answered(const std::string& pid, int status) {
  std::lock_guard lock(mutex_);
  answers_[pid] = status;
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

}  // namespace realtime::testing
