#include "server/routes/broadcast_routes.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "server/fake_engine.hpp"

namespace realtime {
namespace {

namespace json = boost::json;

using RecordingBroker = testing::FakeBroker;

class BroadcastRoutesTest : public ::testing::Test {
 protected:
  BroadcastRoutesTest() {
    config.api_key = "k";
    routes.set_count_recipients([this](auto rooms, auto done) {
      counted_rooms = *rooms;
      done(3);
    });
  }
  HttpResponse post(std::string_view path, std::string body, std::string key = "k") {
    HttpRequest r{"POST", std::string(path), {{"x-api-key", key}}, std::move(body), false};
    HttpResponse out;
    routes.handle(r, path, [&](HttpResponse response) { out = std::move(response); });
    return out;
  }

  Config config;
  RecordingBroker broker;
  Metrics metrics{1};
  BroadcastRoutes routes{config, broker, metrics};
  std::vector<std::string> counted_rooms;
};

TEST(BroadcastEventsTest, EachRoomKnowsTheRoomsBeforeIt) {
  const auto events = broadcast_events({"a", "b", "c"}, "message:new", R"({"id":1})");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].earlier_rooms, nullptr);
  EXPECT_EQ(*events[1].earlier_rooms, (std::vector<std::string>{"a"}));
  EXPECT_EQ(*events[2].earlier_rooms, (std::vector<std::string>{"a", "b"}));
  for (const auto& e : events) {
    EXPECT_EQ(e.event, "message:new");
    EXPECT_EQ(e.data, R"({"id":1})");
  }
}

TEST_F(BroadcastRoutesTest, ABroadcastPublishesOneCopyPerDistinctRoomAndCountsRecipients) {
  const auto r = post("/api/broadcast",
                      R"({"eventType":"message:new","rooms":["channel:1","user:a","channel:1"],)"
                      R"("payload":{"x":1},"eventId":"e"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"success":true,"recipientCount":3})"));
  ASSERT_EQ(broker.published.size(), 1u);
  ASSERT_EQ(broker.published[0].size(), 2u);
  EXPECT_EQ(broker.published[0][1].topic, "user:a");
  EXPECT_EQ(counted_rooms, (std::vector<std::string>{"channel:1", "user:a"}));
}

TEST_F(BroadcastRoutesTest, ABatchKeepsItsOrderAndSaysHowManyItPublished) {
  const auto r =
      post("/api/broadcast/batch", R"({"events":[{"eventType":"a","roomNames":["t1"],"payload":1},)"
                                   R"({"eventType":"b","roomNames":["t2","t3"]}]})");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"success":true,"published":2})"));
  ASSERT_EQ(broker.published.size(), 1u);
  const auto& events = broker.published[0];
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "a");
  EXPECT_EQ(events[1].topic, "t2");
  EXPECT_EQ(events[2].data, "null");
}

TEST_F(BroadcastRoutesTest, BadInputIsRefusedWithSuccessFalse) {
  for (const char* body :
       {"{", "[]", R"({"rooms":["a"]})", R"({"eventType":"bad name","rooms":["a"]})",
        R"({"eventType":"e","rooms":[]})", R"({"eventType":"e","rooms":["a b"]})",
        R"({"eventType":"e","rooms":["realtime.events"]})", R"({"eventType":"e","rooms":"a"})"}) {
    const auto r = post("/api/broadcast", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(json::parse(r.body).at("success"), json::value(false)) << body;
  }
  EXPECT_EQ(post("/api/broadcast/batch", R"({"events":[{"eventType":"e","rooms":["a"]}]})").status,
            400);  // the batch says roomNames
  EXPECT_TRUE(broker.published.empty());
}

TEST_F(BroadcastRoutesTest, TheServerKeyIsRequired) {
  const auto r = post("/api/broadcast", R"({"eventType":"e","rooms":["a"]})", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body).at("success"), json::value(false));
  EXPECT_EQ(post("/api/broadcast", R"({"eventType":"e","rooms":["a"]})", "wrong").status, 401);
}

TEST_F(BroadcastRoutesTest, ABrokerThatCannotAcceptIs503) {
  broker.answer = PublishStatus::unavailable;
  EXPECT_EQ(post("/api/broadcast", R"({"eventType":"e","rooms":["a"]})").status, 503);
}

TEST_F(BroadcastRoutesTest, TooManyRoomsOrATooLargePayloadAreRefused) {
  std::string rooms;
  for (int i = 0; i < 101; ++i) rooms += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  EXPECT_EQ(post("/api/broadcast", R"({"eventType":"e","rooms":[)" + rooms + "]}").status, 400);
  config.max_message_bytes = 256;
  EXPECT_EQ(post("/api/broadcast",
                 R"({"eventType":"e","rooms":["a"],"payload":")" + std::string(300, 'x') + "\"}")
                .status,
            413);
}

}  // namespace
}  // namespace realtime
