#pragma once

// Stand-ins for the engine behind the HTTP routes: a broker that records publishes and answers
// as told (now or later), a presence store that answers with a fixed list.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/broker.hpp"
#include "presence/presence_store.hpp"

namespace realtime::testing {

class FakeBroker final : public Broker {
 public:
  void publish(std::vector<PublishedEvent> events, PublishCallback done) override {
    published.push_back(std::move(events));
    if (defer) {
      pending = std::move(done);
    } else {
      done(answer);
    }
  }
  void topic_added(std::string_view, std::size_t) override {}
  void topic_removed(std::string_view, std::size_t) override {}
  bool healthy() const override { return is_healthy; }
  std::string_view engine() const override { return "fake"; }
  std::optional<DependencyHealth> dependency() const override { return engine_dependency; }
  std::size_t topic_count() const override { return topics; }

  PublishStatus answer = PublishStatus::ok;
  bool defer = false;  // keep `done` in `pending` instead of calling it
  PublishCallback pending;
  bool is_healthy = true;
  std::optional<DependencyHealth> engine_dependency;
  std::size_t topics = 0;
  std::vector<std::vector<PublishedEvent>> published;
};

// Answers users_in() and users_connected() with `users`; records the topics asked about.
class FakePresenceStore final : public PresenceStore {
 public:
  void connect(std::string_view, std::string_view) override {}
  void set_status(std::string_view, PresenceStatus) override {}
  void join(std::string_view, std::string_view) override {}
  void leave(std::string_view, std::string_view) override {}
  void disconnect(std::string_view) override {}
  void users_in(std::string_view topic, UsersCallback done) override {
    queried.emplace_back(topic);
    done(users);
  }
  void users_connected(std::vector<std::string>, UsersCallback done) override { done(users); }

  std::vector<UserPresence> users;
  std::vector<std::string> queried;
};

}  // namespace realtime::testing
