// GET /realtime/history/:topic after access was granted: the query, the answer's shape, a topic
// without history, an engine that cannot answer.
#include "server/routes/history_routes.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "auth/access_rules.hpp"
#include "broker/history.hpp"
#include "broker/memory_broker.hpp"
#include "server/fake_engine.hpp"

namespace realtime {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class HistoryRoutesTest : public ::testing::Test {
 protected:
  HistoryRoutesTest() {
    routes.set_policy(policy.get());
    std::vector<PublishedEvent> events;
    for (int i = 1; i <= 5; ++i) {
      events.push_back({"channel:1", "m", "{\"i\":" + std::to_string(i) + "}", {}});
    }
    broker.publish(std::move(events), nullptr);
  }
  HttpResponse get(std::string topic, std::string_view query) {
    HttpResponse out;
    routes.read(topic, query, [&](HttpResponse r) { out = std::move(r); });
    return out;
  }

  std::shared_ptr<HistoryPolicy> policy = std::make_shared<HistoryPolicy>(
      HistoryLimits{}, std::make_shared<const AccessRules>(AccessRules::parse(
                           R"({"topics":[{"match":"channel:*","history":{"size":100}}]})")));
  MemoryBroker broker{{}, policy};
  Metrics metrics{1};
  HistoryRoutes routes{broker, metrics};
};

TEST_F(HistoryRoutesTest, AnswersTheEventsAfterSinceAsEventFrames) {
  const HttpResponse r = get("channel:1", "since=2&limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("topic").as_string(), "channel:1");
  EXPECT_EQ(body.at("epoch").as_string().size(), 16u);
  EXPECT_EQ(body.at("offset").as_int64(), 5);
  const json::array& events = body.at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("type").as_string(), "event");
  EXPECT_EQ(events[0].at("offset").as_int64(), 3);
  EXPECT_EQ(events[0].at("data").at("i").as_int64(), 3);
  EXPECT_EQ(events[1].at("offset").as_int64(), 4);
}

TEST_F(HistoryRoutesTest, WithoutAQueryItAnswersFromTheStart) {
  const HttpResponse r = get("channel:1", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("events").as_array().size(), 5u);
  const HttpResponse empty = get("channel:2", "");
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(json::parse(empty.body).at("offset").as_int64(), 0);
}

TEST_F(HistoryRoutesTest, BadQueriesAre400) {
  for (std::string_view q : {"since=-1", "since=x", "limit=0", "limit=1001",
                             "since=1&limit=", "since=99999999999999999999"}) {
    EXPECT_EQ(get("channel:1", q).status, 400) << q;
  }
}

TEST_F(HistoryRoutesTest, ATopicWithoutHistoryIs404) {
  const HttpResponse r = get("room:1", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("keeps no history"), std::string::npos);
}

TEST_F(HistoryRoutesTest, AnEngineThatCannotAnswerIs503) {
  testing::FakeBroker down;  // answers every history read "not ok"
  HistoryRoutes routes_down{down, metrics};
  routes_down.set_policy(policy.get());
  HttpResponse out;
  routes_down.read("channel:1", "", [&](HttpResponse r) { out = std::move(r); });
  EXPECT_EQ(out.status, 503);
}

}  // namespace
}  // namespace realtime
