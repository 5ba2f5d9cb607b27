// Typing indicators: start reaches the topic's other subscribers and never the typer's own
// connection; silence and disconnects become stops; repeated starts are coalesced; the rules'
// `typing` permission applies; the presence endpoint lists who is typing.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

bool IsTyping(const json::object& f) {
  return StringField(f, "type") == "event" && StringField(f, "event") == "realtime.typing";
}

// The data of the next realtime.typing event, skipping everything else.
json::object ReadTyping(WsClient& client) {
  return client.ReadUntil(IsTyping, "a realtime.typing event").at("data").as_object();
}

void SendTyping(WsClient& client, std::string_view topic, std::string_view state,
                std::string_view extra = {}) {
  client.Send(R"({"type":"typing","topic":")" + std::string(topic) + R"(","state":")" +
              std::string(state) + "\"" + std::string(extra) + "}");
}

class TypingTest : public ::testing::Test {
 protected:
  // A long timeout by default: a stop seen in these tests is not the automatic one.
  explicit TypingTest(std::string timeout = "60")
      : server_(ServerProcess::DevArgs({"--typing-timeout-seconds", std::move(timeout)})) {}
  std::uint16_t port() const { return server_.port(); }

  ServerProcess server_;
};

class TypingTimeoutTest : public TypingTest {
 protected:
  TypingTimeoutTest() : TypingTest("1") {}
};

TEST_F(TypingTest, StartReachesTheOthersButNotTheTyper) {
  auto alice = ConnectUser(port(), "alice", {"channel:1"});
  auto bob = ConnectUser(port(), "bob", {"channel:1"});
  auto carol = ConnectUser(port(), "carol", {"channel:1"});

  SendTyping(*alice, "channel:1", "start");
  for (WsClient* other : {bob.get(), carol.get()}) {
    const json::object typing = ReadTyping(*other);
    EXPECT_EQ(typing, json::parse(R"({"user_id":"alice","state":"start","thread_id":null})"));
  }
  // Everything alice was sent before her pong: no echo of her own typing among it.
  for (const auto& frame : ReadUntilPong(*alice, "after-typing")) {
    EXPECT_FALSE(IsTyping(frame)) << json::serialize(frame);
  }

  SendTyping(*alice, "channel:1", "stop", R"(,"id":"s1")");
  EXPECT_EQ(StringField(alice->ReadSkippingPresence(), "type"), "ack");
  EXPECT_EQ(ReadTyping(*bob),
            json::parse(R"({"user_id":"alice","state":"stop","thread_id":null})").as_object());
}

TEST_F(TypingTest, ThreadIdIsPassedOnAndTheUserComesFromTheConnection) {
  auto alice = ConnectUser(port(), "alice", {"channel:1"});
  auto bob = ConnectUser(port(), "bob", {"channel:1"});
  SendTyping(*alice, "channel:1", "start", R"(,"thread_id":"msg-17","user_id":"mallory")");
  EXPECT_EQ(ReadTyping(*bob),
            json::parse(R"({"user_id":"alice","state":"start","thread_id":"msg-17"})").as_object());
}

TEST_F(TypingTest, RepeatedStartsWithinASecondAreOneEvent) {
  auto alice = ConnectUser(port(), "alice", {"channel:1"});
  auto bob = ConnectUser(port(), "bob", {"channel:1"});
  for (int i = 0; i < 5; ++i) SendTyping(*alice, "channel:1", "start");
  SendTyping(*alice, "channel:1", "stop");
  // In order: one start, then the stop.
  EXPECT_EQ(StringField(ReadTyping(*bob), "state"), "start");
  EXPECT_EQ(StringField(ReadTyping(*bob), "state"), "stop");
}

TEST_F(TypingTest, DisconnectStopsAtOnce) {
  auto alice = ConnectUser(port(), "alice", {"channel:1"});
  auto bob = ConnectUser(port(), "bob", {"channel:1"});
  SendTyping(*alice, "channel:1", "start");
  EXPECT_EQ(StringField(ReadTyping(*bob), "state"), "start");
  alice->Close();
  // The timeout is 60 s and the read gives up after 20: this stop is the disconnect's.
  const json::object stop = ReadTyping(*bob);
  EXPECT_EQ(StringField(stop, "user_id"), "alice");
  EXPECT_EQ(StringField(stop, "state"), "stop");
}

TEST_F(TypingTest, PresenceEndpointListsWhoIsTyping) {
  auto alice = ConnectUser(port(), "alice", {"channel:1"});
  auto bob = ConnectUser(port(), "bob", {"channel:1"});
  SendTyping(*alice, "channel:1", "start");
  ReadTyping(*bob);
  auto listing = HttpGet(port(), "/realtime/presence/channel:1").Json().as_object();
  EXPECT_EQ(listing.at("typing"), json::parse(R"(["alice"])")) << json::serialize(listing);

  SendTyping(*alice, "channel:1", "stop");
  ReadTyping(*bob);
  listing = HttpGet(port(), "/realtime/presence/channel:1").Json().as_object();
  EXPECT_TRUE(listing.at("typing").as_array().empty()) << json::serialize(listing);
}

TEST_F(TypingTest, TheRulesTypingPermissionApplies) {
  // Default rules: users may type in channel:* but not elsewhere.
  auto user = WsClient::Connect(
      port(), {.target = "/realtime/connect?user=u&role=user", .headers = {}, .subprotocol = {}});
  ASSERT_EQ(StringField(user->ReadJson(), "type"), "welcome");
  SendTyping(*user, "orders:1", "start", R"(,"id":7)");
  const json::object err = user->ReadSkippingPresence();
  EXPECT_EQ(StringField(err, "code"), "forbidden") << json::serialize(err);
  EXPECT_EQ(err.at("id"), json::value(7));
  SendTyping(*user, "channel:1", "start", R"(,"id":8)");
  EXPECT_EQ(StringField(user->ReadSkippingPresence(), "type"), "ack");
}

TEST_F(TypingTest, BadTypingFrameIsABadRequest) {
  auto alice = ConnectUser(port(), "alice");
  SendTyping(*alice, "channel:1", "maybe", R"(,"id":1)");
  const json::object err = alice->ReadSkippingPresence();
  EXPECT_EQ(StringField(err, "code"), "bad_request") << json::serialize(err);
}

TEST_F(TypingTimeoutTest, SilenceBecomesAStopAfterTheTimeout) {
  auto alice = ConnectUser(port(), "alice", {"channel:1"});
  auto bob = ConnectUser(port(), "bob", {"channel:1"});
  SendTyping(*alice, "channel:1", "start");
  EXPECT_EQ(StringField(ReadTyping(*bob), "state"), "start");
  const auto started = std::chrono::steady_clock::now();
  const json::object stop = ReadTyping(*bob);
  EXPECT_EQ(StringField(stop, "state"), "stop");
  EXPECT_EQ(StringField(stop, "user_id"), "alice");
  // Not before the timeout (lower bound only: a loaded machine may be late, never early).
  EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
  // alice is still connected: the stop came from the silence.
  for (const auto& frame : ReadUntilPong(*alice, "still-here")) {
    EXPECT_FALSE(IsTyping(frame)) << json::serialize(frame);
  }
}

}  // namespace
}  // namespace realtime::testing
