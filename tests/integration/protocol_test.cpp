// Protocol v1 over a real connection: the welcome frame, replies echoing `id`, subscriptions
// (by frame and by ?topics=), client publish and the subprotocol.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;

class ProtocolTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }

  ServerProcess server_{ServerProcess::DevArgs()};
};

TEST_F(ProtocolTest, WelcomeIsTheFirstFrame) {
  WsConnectOptions options;
  options.target = ConnectTarget("alice");
  auto client = WsClient::Connect(port(), options);

  const json::object welcome = client->ReadJson();
  EXPECT_EQ(StringField(welcome, "type"), "welcome");
  EXPECT_FALSE(StringField(welcome, "connection_id").empty()) << json::serialize(welcome);
  EXPECT_EQ(StringField(welcome, "user_id"), "alice");
  ASSERT_TRUE(welcome.contains("heartbeat_seconds"));
  EXPECT_EQ(welcome.at("heartbeat_seconds"), json::value(30));
  ASSERT_TRUE(welcome.contains("server_time"));
  EXPECT_TRUE(welcome.at("server_time").is_int64() || welcome.at("server_time").is_uint64());
}

TEST_F(ProtocolTest, ConnectionsWithoutUserGetDistinctRandomUserIds) {
  auto first = WsClient::Connect(port());
  auto second = WsClient::Connect(port());
  const std::string a = StringField(first->ReadJson(), "user_id");
  const std::string b = StringField(second->ReadJson(), "user_id");
  EXPECT_FALSE(a.empty());
  EXPECT_FALSE(b.empty());
  EXPECT_NE(a, b);
}

TEST_F(ProtocolTest, SubscribeReplyEchoesNumberAndStringIds) {
  auto client = ConnectUser(port(), "alice");

  client->Send(R"({"type":"subscribe","topic":"channel:42","id":1})");
  json::object reply = client->ReadSkippingPresence();
  EXPECT_EQ(reply, json::parse(R"({"type":"subscribed","topic":"channel:42","id":1})").as_object());

  client->Send(R"({"type":"subscribe","topic":"channel:43","id":"sub-43"})");
  reply = client->ReadSkippingPresence();
  EXPECT_EQ(reply,
            json::parse(R"({"type":"subscribed","topic":"channel:43","id":"sub-43"})").as_object());
}

TEST_F(ProtocolTest, UnsubscribeReplyEchoesNumberAndStringIds) {
  auto client = ConnectUser(port(), "alice", {"channel:42", "channel:43"});

  client->Send(R"({"type":"unsubscribe","topic":"channel:42","id":2})");
  json::object reply = client->ReadSkippingPresence();
  EXPECT_EQ(reply,
            json::parse(R"({"type":"unsubscribed","topic":"channel:42","id":2})").as_object());

  client->Send(R"({"type":"unsubscribe","topic":"channel:43","id":"u-43"})");
  reply = client->ReadSkippingPresence();
  EXPECT_EQ(reply,
            json::parse(R"({"type":"unsubscribed","topic":"channel:43","id":"u-43"})").as_object());
}

TEST_F(ProtocolTest, PingGetsPongWithIdAndServerTime) {
  auto client = ConnectUser(port(), "alice");

  client->Send(R"({"type":"ping","id":5})");
  json::object pong = client->ReadSkippingPresence();
  EXPECT_EQ(StringField(pong, "type"), "pong");
  EXPECT_EQ(pong["id"], json::value(5));
  EXPECT_TRUE(pong["ts"].is_int64() || pong["ts"].is_uint64()) << json::serialize(pong);

  client->Send(R"({"type":"ping","id":"p-6"})");
  pong = client->ReadSkippingPresence();
  EXPECT_EQ(StringField(pong, "type"), "pong");
  EXPECT_EQ(StringField(pong, "id"), "p-6");
}

TEST_F(ProtocolTest, PresenceGetsAckWithId) {
  auto client = ConnectUser(port(), "alice", {"room"});

  client->Send(R"({"type":"presence","status":"away","id":4})");
  EXPECT_EQ(client->ReadSkippingPresence(), json::parse(R"({"type":"ack","id":4})").as_object());

  client->Send(R"({"type":"presence","status":"online","id":"back"})");
  EXPECT_EQ(client->ReadSkippingPresence(),
            json::parse(R"({"type":"ack","id":"back"})").as_object());
}

TEST_F(ProtocolTest, EventFrameCarriesTopicEventDataAndTimestamp) {
  auto client = ConnectUser(port(), "alice", {"channel:42"});

  const HttpResponse res =
      Publish(port(), "channel:42", "chat.message.created", R"({"text":"hi","n":[1,2]})");
  ASSERT_EQ(res.status, 202) << res.body;

  json::object frame = client->ReadSkippingPresence();
  EXPECT_EQ(StringField(frame, "type"), "event");
  EXPECT_EQ(StringField(frame, "topic"), "channel:42");
  EXPECT_EQ(StringField(frame, "event"), "chat.message.created");
  EXPECT_EQ(frame["data"], json::parse(R"({"text":"hi","n":[1,2]})"));
  EXPECT_TRUE(frame["ts"].is_int64() || frame["ts"].is_uint64()) << json::serialize(frame);
}

TEST_F(ProtocolTest, SubscribeFrameStartsDelivery) {
  auto client = ConnectUser(port(), "alice");
  Subscribe(*client, "news");

  ASSERT_EQ(Publish(port(), "news", "news.posted", R"({"id":1})").status, 202);
  EXPECT_EQ(ExpectEvent(*client, "news", "news.posted"), json::parse(R"({"id":1})"));
}

TEST_F(ProtocolTest, UnsubscribedTopicStopsDelivering) {
  auto client = ConnectUser(port(), "alice", {"a", "b"});
  client->Send(R"({"type":"unsubscribe","topic":"a","id":1})");
  ASSERT_EQ(StringField(client->ReadSkippingPresence(), "type"), "unsubscribed");

  ASSERT_EQ(Publish(port(), "a", "after.unsubscribe", "1").status, 202);
  ASSERT_EQ(Publish(port(), "b", "still.subscribed", "2").status, 202);

  // Per-connection order is preserved, so an event on "a" would arrive before the one on "b",
  // and anything queued later would arrive before the pong.
  EXPECT_EQ(ExpectEvent(*client, "b", "still.subscribed"), json::value(2));
  for (const auto& frame : ReadUntilPong(*client, "end")) {
    EXPECT_TRUE(IsPresenceEvent(frame)) << "unexpected frame " << json::serialize(frame);
  }
}

TEST_F(ProtocolTest, TopicsQueryParameterSubscribesAtConnect) {
  WsConnectOptions options;
  options.target = ConnectTarget("alice", {"a", "b"});
  auto client = WsClient::Connect(port(), options);
  ASSERT_EQ(StringField(client->ReadJson(), "type"), "welcome");
  // Each topic is confirmed with a `subscribed` frame (no id: nobody asked by frame).
  for (const std::string topic : {"a", "b"}) {
    const json::object reply = client->ReadSkippingPresence();
    EXPECT_EQ(StringField(reply, "type"), "subscribed") << json::serialize(reply);
    EXPECT_EQ(StringField(reply, "topic"), topic);
    EXPECT_FALSE(reply.contains("id"));
  }

  ASSERT_EQ(Publish(port(), "b", "to.b", R"("x")").status, 202);
  ASSERT_EQ(Publish(port(), "a", "to.a", R"("y")").status, 202);
  EXPECT_EQ(ExpectEvent(*client, "b", "to.b"), json::value("x"));
  EXPECT_EQ(ExpectEvent(*client, "a", "to.a"), json::value("y"));
}

TEST_F(ProtocolTest, ClientPublishIsAckedAndDeliveredInDevMode) {
  auto publisher = ConnectUser(port(), "alice");
  auto subscriber = ConnectUser(port(), "bob", {"channel:42"});

  publisher->Send(
      R"({"type":"publish","topic":"channel:42","event":"typing","data":{"on":true},"id":3})");
  EXPECT_EQ(publisher->ReadSkippingPresence(), json::parse(R"({"type":"ack","id":3})").as_object());
  EXPECT_EQ(ExpectEvent(*subscriber, "channel:42", "typing"), json::parse(R"({"on":true})"));
}

TEST_F(ProtocolTest, EventsOfOneTopicArriveInPublishOrder) {
  auto client = ConnectUser(port(), "alice", {"ordered"});
  std::vector<std::string> messages;
  for (int i = 0; i < 50; ++i) {
    messages.push_back(EventJson("ordered", "tick", R"({"seq":)" + std::to_string(i) + "}"));
  }
  ASSERT_EQ(HttpPostJson(port(), "/realtime/publish", BatchJson(messages)).status, 202);
  ASSERT_EQ(Publish(port(), "ordered", "tick", R"({"seq":50})").status, 202);

  for (int i = 0; i <= 50; ++i) {
    EXPECT_EQ(ExpectEvent(*client, "ordered", "tick").as_object().at("seq"), json::value(i));
  }
}

TEST_F(ProtocolTest, OfferedSubprotocolV1IsSelected) {
  WsConnectOptions options;
  options.subprotocol = "nself-realtime.v1";
  auto client = WsClient::Connect(port(), options);
  EXPECT_EQ(client->subprotocol(), "nself-realtime.v1");
  EXPECT_EQ(StringField(client->ReadJson(), "type"), "welcome");
}

TEST_F(ProtocolTest, NoSubprotocolIsSelectedWhenNoneIsOffered) {
  auto client = WsClient::Connect(port());
  EXPECT_EQ(client->subprotocol(), "");
  EXPECT_EQ(StringField(client->ReadJson(), "type"), "welcome");
}

}  // namespace
}  // namespace realtime::testing
