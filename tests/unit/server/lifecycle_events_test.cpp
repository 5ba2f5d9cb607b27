#include "server/lifecycle_events.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace realtime {
namespace {

namespace json = boost::json;

json::value data_of(const PublishedEvent& e) { return json::parse(e.data); }

TEST(LifecycleEventsTest, ConnectedCarriesUserConnectionAndTopics) {
  const auto e = client_connected_event("alice", "n1-7", {"channel:1", "channel:2"});
  EXPECT_EQ(e.topic, "realtime.events");
  EXPECT_EQ(e.event, "realtime.client.connected");
  EXPECT_EQ(data_of(e), json::parse(R"({"user_id":"alice","connection_id":"n1-7",)"
                                    R"("topics":["channel:1","channel:2"]})"));
  EXPECT_TRUE(e.exclude_connection.empty());
}

TEST(LifecycleEventsTest, ConnectedWithoutTopicsHasAnEmptyList) {
  EXPECT_EQ(data_of(client_connected_event("a", "c", {})).at("topics"), json::array());
}

TEST(LifecycleEventsTest, DisconnectedCarriesTheSessionLength) {
  const auto e = client_disconnected_event("alice", "n1-7", 42);
  EXPECT_EQ(e.topic, "realtime.events");
  EXPECT_EQ(e.event, "realtime.client.disconnected");
  EXPECT_EQ(data_of(e),
            json::parse(R"({"user_id":"alice","connection_id":"n1-7","session_seconds":42})"));
}

TEST(LifecycleEventsTest, EveryPresenceChangeGoesToTheEventsTopic) {
  const auto events = presence_backend_events(
      {{"alice", "channel:1", PresenceStatus::offline, PresenceStatus::online},
       {"bob", "channel:2", PresenceStatus::online, PresenceStatus::away}});
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e.topic, "realtime.events");
    EXPECT_EQ(e.event, "realtime.presence.changed");
  }
  EXPECT_EQ(data_of(events[0]), json::parse(R"({"user_id":"alice","old_status":"offline",)"
                                            R"("new_status":"online","topic":"channel:1"})"));
  EXPECT_EQ(data_of(events[1]), json::parse(R"({"user_id":"bob","old_status":"online",)"
                                            R"("new_status":"away","topic":"channel:2"})"));
}

TEST(LifecycleEventsTest, OneChangeToATopicIsAPresenceChangedEvent) {
  const auto e = presence_topic_event(
      {"channel:1", {{"alice", "channel:1", PresenceStatus::offline, PresenceStatus::online}}});
  EXPECT_EQ(e.topic, "channel:1");
  EXPECT_EQ(e.event, "realtime.presence.changed");
  EXPECT_EQ(data_of(e), json::parse(R"({"user_id":"alice","old_status":"offline",)"
                                    R"("new_status":"online","topic":"channel:1"})"));
}

TEST(LifecycleEventsTest, SeveralChangesToATopicAreOnePresenceDiff) {
  const auto e = presence_topic_event(
      {"channel:1",
       {{"alice", "channel:1", PresenceStatus::offline, PresenceStatus::online},
        {"bob", "channel:1", PresenceStatus::online, PresenceStatus::offline},
        {"carol", "channel:1", PresenceStatus::online, PresenceStatus::dnd},
        {"d\"q", "channel:1", PresenceStatus::away, PresenceStatus::offline}}});
  EXPECT_EQ(e.topic, "channel:1");
  EXPECT_EQ(e.event, "realtime.presence.diff");
  EXPECT_EQ(data_of(e),
            json::parse(R"({"topic":"channel:1","joins":[)"
                        R"({"user_id":"alice","status":"online","old_status":"offline"},)"
                        R"({"user_id":"carol","status":"dnd","old_status":"online"}],)"
                        R"("leaves":[{"user_id":"bob","old_status":"online"},)"
                        R"({"user_id":"d\"q","old_status":"away"}]})"));
  const auto only_leaves =
      presence_topic_event({"t",
                            {{"a", "t", PresenceStatus::online, PresenceStatus::offline},
                             {"b", "t", PresenceStatus::online, PresenceStatus::offline}}});
  EXPECT_EQ(
      data_of(only_leaves),
      json::parse(R"({"topic":"t","joins":[],"leaves":[{"user_id":"a","old_status":"online"},)"
                  R"({"user_id":"b","old_status":"online"}]})"));
}

TEST(LifecycleEventsTest, TypingGoesToTheTopicExceptTheTypersConnection) {
  const auto events = typing_events(
      {{"channel:1", "alice", "", "n1-7", true}, {"channel:1", "alice", "t-9", "n1-7", false}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].topic, "channel:1");
  EXPECT_EQ(events[0].event, "realtime.typing");
  EXPECT_EQ(events[0].exclude_connection, "n1-7");
  EXPECT_EQ(data_of(events[0]),
            json::parse(R"({"user_id":"alice","state":"start","thread_id":null})"));
  EXPECT_EQ(data_of(events[1]),
            json::parse(R"({"user_id":"alice","state":"stop","thread_id":"t-9"})"));
}

TEST(LifecycleEventsTest, UserIdsAreEscaped) {
  const auto e = client_disconnected_event("a\"b\\", "c", 0);
  EXPECT_EQ(data_of(e).at("user_id"), "a\"b\\");
}

TEST(LifecycleEventsTest, BackendEventHasEventDataTsAndNode) {
  EXPECT_EQ(json::parse(backend_event_json("realtime.client.connected", R"({"x":1})", 1700, "n1")),
            json::parse(R"({"event":"realtime.client.connected","data":{"x":1},"ts":1700,)"
                        R"("node_id":"n1"})"));
}

}  // namespace
}  // namespace realtime
