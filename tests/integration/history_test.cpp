// History and recovery end to end: a client that was away gets every event it missed, in order
// and once, then the live ones; a seam with a publisher running; what cannot be recovered says so
// (another epoch, events older than the history, a restart, Redis losing its keys); two nodes on
// Redis share one stream; GET /realtime/history.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kTokenSecret = "history-tests-token-secret-0123456789ab";

// A later flag wins: `extra` may set another size.
std::vector<std::string> HistoryArgs(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--history-size", "1000"});
  return ServerProcess::DevArgs(std::move(extra));
}

std::uint64_t OffsetOf(const json::object& frame) {
  const json::value* o = frame.if_contains("offset");
  return o != nullptr && o->is_int64() ? static_cast<std::uint64_t>(o->as_int64()) : 0;
}

// What a subscribe produced: the events before the reply (the replay) and the reply.
struct Subscription {
  std::vector<json::object> replayed;
  json::object reply;
  std::string epoch() const { return StringField(reply, "epoch"); }
  std::uint64_t offset() const { return OffsetOf(reply); }
  std::optional<bool> recovered() const {
    const json::value* r = reply.if_contains("recovered");
    return r != nullptr && r->is_bool() ? std::optional<bool>(r->as_bool()) : std::nullopt;
  }
};

// Subscribes to `topic` (from `since` when given) and reads up to the `subscribed` reply.
Subscription SubscribeFrom(WsClient& client, std::string_view topic,
                           std::optional<std::pair<std::uint64_t, std::string>> since = {}) {
  std::string frame = R"({"type":"subscribe","id":"s","topic":")" + std::string(topic) + "\"";
  if (since) {
    frame += R"(,"since":{"offset":)" + std::to_string(since->first) + R"(,"epoch":")" +
             since->second + "\"}";
  }
  client.Send(frame + "}");
  Subscription out;
  for (;;) {
    json::object f = client.ReadJson(20s);
    if (StringField(f, "type") == "subscribed" && StringField(f, "id") == "s") {
      out.reply = std::move(f);
      return out;
    }
    if (StringField(f, "type") == "error") throw std::runtime_error(json::serialize(f));
    if (StringField(f, "type") == "event" && OffsetOf(f) > 0) out.replayed.push_back(std::move(f));
  }
}

// Publishes `count` events on `topic` in one batch, data {"n": first..first+count-1}.
void PublishMany(std::uint16_t port, std::string_view topic, int first, int count) {
  std::vector<std::string> messages;
  for (int i = first; i < first + count; ++i) {
    messages.push_back(EventJson(topic, "m", "{\"n\":" + std::to_string(i) + "}"));
  }
  const HttpResponse r = HttpPostJson(port, "/realtime/publish", BatchJson(messages));
  ASSERT_EQ(r.status, 202) << r.body;
}

// Reads events of `topic` with an offset until one carries `last`; returns their offsets.
std::vector<std::uint64_t> ReadOffsetsUntil(WsClient& client, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  while (out.empty() || out.back() < last) {
    const json::object f = client.ReadJson(20s);
    if (StringField(f, "type") == "event" && OffsetOf(f) > 0) out.push_back(OffsetOf(f));
  }
  return out;
}

std::vector<std::uint64_t> Offsets(const std::vector<json::object>& frames) {
  std::vector<std::uint64_t> out;
  for (const auto& f : frames) out.push_back(OffsetOf(f));
  return out;
}

std::vector<std::uint64_t> Range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto o = first; o <= last; ++o) out.push_back(o);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Embedded engine

TEST(HistoryTest, AClientThatWasAwayGetsEveryMissedEventInOrderThenTheLiveOnes) {
  ServerProcess server(HistoryArgs());
  auto first = ConnectUser(server.port(), "alice");
  const Subscription s = SubscribeFrom(*first, "channel:1");
  EXPECT_EQ(s.offset(), 0u);
  EXPECT_EQ(s.epoch().size(), 16u);
  EXPECT_FALSE(s.recovered());  // asked nothing
  PublishMany(server.port(), "channel:1", 0, 3);
  EXPECT_EQ(ReadOffsetsUntil(*first, 3), Range(1, 3));
  first->Close();

  PublishMany(server.port(), "channel:1", 3, 500);
  auto back = ConnectUser(server.port(), "alice");
  const Subscription r = SubscribeFrom(*back, "channel:1", {{3, s.epoch()}});
  EXPECT_EQ(r.recovered(), true) << json::serialize(r.reply);
  EXPECT_EQ(r.epoch(), s.epoch());
  EXPECT_EQ(r.offset(), 503u);
  EXPECT_EQ(Offsets(r.replayed), Range(4, 503));
  EXPECT_EQ(r.replayed.front().at("data").at("n").as_int64(), 3);
  EXPECT_EQ(r.replayed.back().at("data").at("n").as_int64(), 502);
  PublishMany(server.port(), "channel:1", 503, 2);
  EXPECT_EQ(ReadOffsetsUntil(*back, 505), Range(504, 505));
  // Nothing twice: the next frame after the live ones is the pong.
  for (const auto& f : ReadUntilPong(*back, "end")) {
    EXPECT_EQ(OffsetOf(f), 0u) << json::serialize(f);
  }
}

// The seam: a client away since offset 0 comes back on `port` while a publisher on
// `publish_port` keeps going; it gets the replay, then exactly the events after it.
void ExpectNoGapWhilePublishing(std::uint16_t port, std::uint16_t publish_port) {
  auto first = ConnectUser(port, "alice");
  const Subscription s = SubscribeFrom(*first, "channel:seam");
  first->Close();
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    for (int i = 0; !stop; i += 10) {
      PublishMany(publish_port, "channel:seam", i, 10);
      published += 10;
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return published >= 200; }, 20s));
  auto back = ConnectUser(port, "alice");
  const Subscription r = SubscribeFrom(*back, "channel:seam", {{0, s.epoch()}});
  ASSERT_TRUE(WaitUntil([&] { return published >= static_cast<int>(r.offset()) + 300; }, 20s));
  stop = true;
  publisher.join();
  EXPECT_EQ(r.recovered(), true);
  EXPECT_EQ(Offsets(r.replayed), Range(1, r.offset()));
  const auto live = ReadOffsetsUntil(*back, static_cast<std::uint64_t>(published.load()));
  EXPECT_EQ(live, Range(r.offset() + 1, published.load()))
      << "replayed up to " << r.offset() << ", then " << live.size() << " live";
}

TEST(HistoryTest, APublisherRunningThroughTheReconnectLeavesNoGapAndNoDuplicate) {
  ServerProcess server(HistoryArgs({"--history-size", "100000"}));
  ExpectNoGapWhilePublishing(server.port(), server.port());
}

TEST(HistoryTest, WhatCannotBeRecoveredIsSaidAndNothingIsReplayed) {
  ServerProcess server(HistoryArgs({"--history-size", "10"}));
  auto c = ConnectUser(server.port(), "alice");
  const Subscription s = SubscribeFrom(*c, "channel:1");
  PublishMany(server.port(), "channel:1", 0, 20);
  ReadOffsetsUntil(*c, 20);
  c->Close();
  auto back = ConnectUser(server.port(), "alice");
  // Older than the history: 11-20 are kept, 6-10 are gone.
  const Subscription old = SubscribeFrom(*back, "channel:1", {{5, s.epoch()}});
  EXPECT_EQ(old.recovered(), false);
  EXPECT_EQ(old.offset(), 20u);
  EXPECT_TRUE(old.replayed.empty());
  back->Send(R"({"type":"unsubscribe","topic":"channel:1"})");
  // Another epoch.
  const Subscription other = SubscribeFrom(*back, "channel:1", {{15, "0123456789abcdef"}});
  EXPECT_EQ(other.recovered(), false);
  EXPECT_EQ(other.epoch(), s.epoch());
  EXPECT_TRUE(other.replayed.empty());
  back->Send(R"({"type":"unsubscribe","topic":"channel:1"})");
  // The last 10 are there.
  const Subscription ok = SubscribeFrom(*back, "channel:1", {{10, s.epoch()}});
  EXPECT_EQ(ok.recovered(), true);
  EXPECT_EQ(Offsets(ok.replayed), Range(11, 20));
}

TEST(HistoryTest, EventsOlderThanTheTtlAreNotReplayed) {
  ServerProcess server(HistoryArgs({"--history-ttl-seconds", "1"}));
  auto c = ConnectUser(server.port(), "alice");
  const Subscription s = SubscribeFrom(*c, "channel:1");
  c->Close();
  PublishMany(server.port(), "channel:1", 0, 5);
  std::this_thread::sleep_for(1500ms);
  auto back = ConnectUser(server.port(), "alice");
  const Subscription r = SubscribeFrom(*back, "channel:1", {{0, s.epoch()}});
  EXPECT_EQ(r.recovered(), false);
  EXPECT_EQ(r.offset(), 5u);
  EXPECT_TRUE(r.replayed.empty());
}

TEST(HistoryTest, ARestartedEmbeddedEngineHasANewEpoch) {
  std::string epoch;
  {
    ServerProcess before(HistoryArgs());
    auto c = ConnectUser(before.port(), "alice");
    epoch = SubscribeFrom(*c, "channel:1").epoch();
    PublishMany(before.port(), "channel:1", 0, 3);
  }
  ServerProcess after(HistoryArgs());
  auto c = ConnectUser(after.port(), "alice");
  const Subscription r = SubscribeFrom(*c, "channel:1", {{3, epoch}});
  EXPECT_EQ(r.recovered(), false);
  EXPECT_NE(r.epoch(), epoch);
  EXPECT_EQ(r.offset(), 0u);
}

TEST(HistoryTest, ATopicWithoutHistoryAnswersNotRecoveredAndEventsCarryNoOffset) {
  ServerProcess server(ServerProcess::DevArgs());
  auto c = ConnectUser(server.port(), "alice");
  const Subscription r = SubscribeFrom(*c, "channel:1", {{3, "0123456789abcdef"}});
  EXPECT_EQ(r.recovered(), false);
  EXPECT_EQ(r.epoch(), "");
  ASSERT_EQ(Publish(server.port(), "channel:1", "m", "1").status, 202);
  const json::object f = c->ReadSkippingPresence();
  EXPECT_EQ(f.if_contains("offset"), nullptr) << json::serialize(f);
  EXPECT_EQ(HttpGet(server.port(), "/realtime/history/channel:1").status, 404);
}

TEST(HistoryTest, TypingAndPresenceAreNeverStored) {
  ServerProcess server(HistoryArgs());
  auto watcher = ConnectUser(server.port(), "bob");
  SubscribeFrom(*watcher, "channel:1");
  auto typer = ConnectUser(server.port(), "alice", {"channel:1"});
  typer->Send(R"({"type":"typing","topic":"channel:1","state":"start"})");
  ASSERT_EQ(Publish(server.port(), "channel:1", "m", "1").status, 202);
  const json::object h =
      json::parse(HttpGet(server.port(), "/realtime/history/channel:1").body).as_object();
  ASSERT_EQ(h.at("events").as_array().size(), 1u) << json::serialize(h);
  EXPECT_EQ(h.at("events").as_array()[0].at("event").as_string(), "m");
}

TEST(HistoryTest, HttpHistoryAnswersTheEventsAfterSince) {
  ServerProcess server(HistoryArgs());
  PublishMany(server.port(), "orders:7", 0, 10);
  const HttpResponse r = HttpGet(server.port(), "/realtime/history/orders:7?since=4&limit=3");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("topic").as_string(), "orders:7");
  EXPECT_EQ(body.at("offset").as_int64(), 10);
  const json::array& events = body.at("events").as_array();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].at("offset").as_int64(), 5);
  EXPECT_EQ(events[2].at("data").at("n").as_int64(), 6);
  EXPECT_EQ(HttpGet(server.port(), "/realtime/history/orders:7?limit=0").status, 400);
  EXPECT_EQ(HttpGet(server.port(), "/realtime/history/bad topic").status, 400);
}

// ---------------------------------------------------------------------------------------------
// Redis engine

std::vector<std::string> RedisNodeArgs(const RedisProcess& redis) {
  return HistoryArgs({"--redis-url", redis.Url(), "--token-secret", kTokenSecret});
}

class RedisHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const ServerProcess* node : {&a_, &b_}) WaitHealthy(*node);
  }
  static void WaitHealthy(const ServerProcess& node) {
    ASSERT_TRUE(WaitUntil([&] { return HttpGet(node.port(), "/health").status == 200; }, 30s))
        << HttpGet(node.port(), "/health").body;
  }

  RedisProcess redis_;
  ServerProcess a_{RedisNodeArgs(redis_)};
  ServerProcess b_{RedisNodeArgs(redis_)};
};

TEST_F(RedisHistoryTest, TwoNodesShareOneStreamAndAClientRecoversOnTheOther) {
  auto on_a = ConnectUser(a_.port(), "alice");
  const Subscription s = SubscribeFrom(*on_a, "channel:1");
  auto watcher = ConnectUser(b_.port(), "bob");
  const Subscription w = SubscribeFrom(*watcher, "channel:1");
  EXPECT_EQ(w.epoch(), s.epoch());  // one epoch per topic, whichever node asks
  on_a->Close();
  for (int i = 0; i < 5; ++i) {
    PublishMany(i % 2 == 0 ? a_.port() : b_.port(), "channel:1", i * 100, 100);
  }
  EXPECT_EQ(ReadOffsetsUntil(*watcher, 500), Range(1, 500));
  auto on_b = ConnectUser(b_.port(), "alice");
  const Subscription r = SubscribeFrom(*on_b, "channel:1", {{0, s.epoch()}});
  EXPECT_EQ(r.recovered(), true) << json::serialize(r.reply);
  EXPECT_EQ(Offsets(r.replayed), Range(1, 500));
  PublishMany(a_.port(), "channel:1", 500, 1);
  EXPECT_EQ(ReadOffsetsUntil(*on_b, 501), Range(501, 501));
  EXPECT_EQ(ReadOffsetsUntil(*watcher, 501), Range(501, 501));
}

TEST_F(RedisHistoryTest, APublisherOnTheOtherNodeThroughTheReconnectLeavesNoGap) {
  ExpectNoGapWhilePublishing(a_.port(), b_.port());
}

TEST_F(RedisHistoryTest, FlushallAndARestartOfRedisStartANewEpoch) {
  auto c = ConnectUser(a_.port(), "alice");
  const Subscription s = SubscribeFrom(*c, "channel:1");
  PublishMany(a_.port(), "channel:1", 0, 3);
  ReadOffsetsUntil(*c, 3);
  c->Close();
  redis_.Command({"FLUSHALL"});
  auto back = ConnectUser(b_.port(), "alice");
  const Subscription flushed = SubscribeFrom(*back, "channel:1", {{3, s.epoch()}});
  EXPECT_EQ(flushed.recovered(), false);
  EXPECT_NE(flushed.epoch(), s.epoch());
  EXPECT_EQ(flushed.offset(), 0u);
  back->Close();

  PublishMany(a_.port(), "channel:1", 3, 2);
  redis_.Shutdown();
  redis_.Start();
  WaitHealthy(a_);
  auto again = ConnectUser(a_.port(), "alice");
  const Subscription restarted = SubscribeFrom(*again, "channel:1", {{2, flushed.epoch()}});
  EXPECT_EQ(restarted.recovered(), false);
  EXPECT_NE(restarted.epoch(), flushed.epoch());
}

}  // namespace
}  // namespace realtime::testing
