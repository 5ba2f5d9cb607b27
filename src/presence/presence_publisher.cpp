#include "presence/presence_publisher.hpp"

#include <boost/asio/post.hpp>

#include <future>

#include "auth/access_rules.hpp"
#include "broker/broker.hpp"
#include "server/lifecycle_events.hpp"
#include "server/metrics.hpp"

namespace net = boost::asio;

namespace realtime {

PresencePublisher::PresencePublisher(net::any_io_executor executor,
                                     std::chrono::milliseconds window, Broker& broker,
                                     Metrics& metrics, RulesSource rules)
    : broker_(broker),
      metrics_(metrics),
      rules_(std::move(rules)),
      coalescer_(window,
                 [this](std::string_view topic) {
                   // Once per window, not per change: a storm asks the rules a few times.
                   const auto rules = rules_();
                   return rules == nullptr || rules->presence_events(topic);
                 }),
      timer_(std::move(executor)) {}

void PresencePublisher::topic_changes(const std::vector<PresenceChange>& changes) {
  std::vector<TopicPresenceUpdate> updates;
  std::lock_guard lock(mutex_);
  coalescer_.add(changes, PresenceCoalescer::Clock::now(), updates);
  if (closing_) coalescer_.flush_all(updates);
  publish_locked(updates);
  if (coalescer_.next_deadline()) arm_locked();
}

void PresencePublisher::flush(std::chrono::milliseconds timeout) {
  std::vector<TopicPresenceUpdate> updates;
  auto taken = std::make_shared<std::promise<void>>();
  auto future = taken->get_future();
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    coalescer_.flush_all(updates);
    if (updates.empty()) return;
    publish_locked(updates, [taken] { taken->set_value(); });
  }
  future.wait_for(timeout);
}

void PresencePublisher::publish_locked(const std::vector<TopicPresenceUpdate>& updates,
                                       std::function<void()> done) {
  const auto& c = coalescer_.counts();
  metrics_.set_presence_counts(c.changed_events, c.diff_events, c.coalesced, c.muted);
  if (updates.empty()) return;
  std::vector<PublishedEvent> events;
  events.reserve(updates.size());
  for (const auto& update : updates) events.push_back(presence_topic_event(update));
  PublishCallback callback;
  if (done) callback = [done = std::move(done)](PublishStatus) { done(); };
  broker_.publish(std::move(events), std::move(callback));
}

void PresencePublisher::arm_locked() {
  // One timer for the node, armed while a window is open. Windows all last as long and open in
  // time order, so the first deadline is the next to come.
  if (armed_) return;
  armed_ = true;
  net::post(timer_.get_executor(), [this] {
    std::lock_guard lock(mutex_);
    const auto deadline = coalescer_.next_deadline();
    if (!deadline) {
      armed_ = false;
      return;
    }
    timer_.expires_at(*deadline);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) on_timer();
    });
  });
}

void PresencePublisher::on_timer() {
  std::vector<TopicPresenceUpdate> updates;
  std::lock_guard lock(mutex_);
  armed_ = false;
  coalescer_.expire(PresenceCoalescer::Clock::now(), updates);
  publish_locked(updates);
  if (coalescer_.next_deadline()) arm_locked();
}

}  // namespace realtime
