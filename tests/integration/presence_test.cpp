// Presence: who is on a topic (GET /realtime/presence/:topic), status changes by frame, the
// fold over a user's connections, and offline when the last connection goes.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace realtime::testing {
namespace {

namespace json = boost::json;

class PresenceTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return server_.port(); }

  json::object GetPresence(std::string_view topic) {
    const HttpResponse res = HttpGet(port(), "/realtime/presence/" + std::string(topic));
    if (res.status != 200) {
      throw std::runtime_error("GET presence: " + std::to_string(res.status) + " " + res.body);
    }
    return res.Json().as_object();
  }

  // The entry of `user` in a presence listing, or nullptr.
  static const json::object* FindUser(const json::object& listing, std::string_view user) {
    for (const auto& entry : listing.at("users").as_array()) {
      if (StringField(entry.as_object(), "user_id") == user) return &entry.as_object();
    }
    return nullptr;
  }

  std::string StatusOf(std::string_view topic, std::string_view user) {
    const json::object listing = GetPresence(topic);
    const json::object* entry = FindUser(listing, user);
    return entry == nullptr ? "absent" : StringField(*entry, "status");
  }

  static void SetStatus(WsClient& client, std::string_view status) {
    client.Send(R"({"type":"presence","status":")" + std::string(status) + R"(","id":"st"})");
    const json::object ack = client.ReadSkippingPresence();
    ASSERT_EQ(ack, json::parse(R"({"type":"ack","id":"st"})").as_object());
  }

  ServerProcess server_{ServerProcess::DevArgs()};
};

TEST_F(PresenceTest, EndpointListsConnectedUsersWithStatusAndConnections) {
  auto alice1 = ConnectUser(port(), "alice", {"room"});
  auto alice2 = ConnectUser(port(), "alice", {"room"});
  auto bob = ConnectUser(port(), "bob", {"room"});
  auto carol = ConnectUser(port(), "carol", {"elsewhere"});

  const json::object listing = GetPresence("room");
  EXPECT_EQ(StringField(listing, "topic"), "room");
  EXPECT_EQ(listing.at("count"), json::value(2)) << json::serialize(listing);
  ASSERT_EQ(listing.at("users").as_array().size(), 2u) << json::serialize(listing);

  const json::object* alice = FindUser(listing, "alice");
  ASSERT_NE(alice, nullptr) << json::serialize(listing);
  EXPECT_EQ(StringField(*alice, "status"), "online");
  EXPECT_EQ(alice->at("connections"), json::value(2));
  EXPECT_TRUE(alice->at("last_seen").is_number());

  const json::object* bob_entry = FindUser(listing, "bob");
  ASSERT_NE(bob_entry, nullptr) << json::serialize(listing);
  EXPECT_EQ(StringField(*bob_entry, "status"), "online");
  EXPECT_EQ(bob_entry->at("connections"), json::value(1));

  EXPECT_EQ(FindUser(listing, "carol"), nullptr);
}

TEST_F(PresenceTest, EndpointForTopicWithoutSubscribersListsNobody) {
  const json::object listing = GetPresence("empty.room");
  EXPECT_EQ(listing.at("count"), json::value(0));
  EXPECT_TRUE(listing.at("users").as_array().empty());
}

TEST_F(PresenceTest, EndpointRejectsInvalidTopic) {
  EXPECT_EQ(HttpGet(port(), "/realtime/presence/bad%20topic").status, 400);
}

TEST_F(PresenceTest, JoiningUserIsAnnouncedOnline) {
  auto bob = ConnectUser(port(), "bob", {"room"});
  auto alice = ConnectUser(port(), "alice", {"room"});
  const json::object change = ReadPresenceChangeOf(*bob, "alice");
  EXPECT_EQ(StringField(change, "old_status"), "offline");
  EXPECT_EQ(StringField(change, "new_status"), "online");
  EXPECT_EQ(StringField(change, "topic"), "room");
}

TEST_F(PresenceTest, PresenceFrameChangesStatusAndNotifiesSubscribers) {
  auto alice = ConnectUser(port(), "alice", {"room"});
  auto bob = ConnectUser(port(), "bob", {"room"});

  ASSERT_NO_FATAL_FAILURE(SetStatus(*alice, "dnd"));
  const json::object change = ReadPresenceChangeOf(*bob, "alice");
  EXPECT_EQ(change, json::parse(R"({"user_id":"alice","old_status":"online",)"
                                R"("new_status":"dnd","topic":"room"})")
                        .as_object());
  EXPECT_EQ(StatusOf("room", "alice"), "dnd");
}

TEST_F(PresenceTest, StatusFoldsOverAllConnectionsOfAUser) {
  auto alice1 = ConnectUser(port(), "alice", {"room"});
  auto alice2 = ConnectUser(port(), "alice", {"room"});
  auto bob = ConnectUser(port(), "bob", {"room"});

  // One connection away, the other online: the user is online, nothing changes.
  ASSERT_NO_FATAL_FAILURE(SetStatus(*alice1, "away"));
  EXPECT_EQ(StatusOf("room", "alice"), "online");
  // Both away: away.
  ASSERT_NO_FATAL_FAILURE(SetStatus(*alice2, "away"));
  json::object change = ReadPresenceChangeOf(*bob, "alice");
  EXPECT_EQ(StringField(change, "old_status"), "online");
  EXPECT_EQ(StringField(change, "new_status"), "away");
  EXPECT_EQ(StatusOf("room", "alice"), "away");
  // Any connection dnd: dnd.
  ASSERT_NO_FATAL_FAILURE(SetStatus(*alice1, "dnd"));
  change = ReadPresenceChangeOf(*bob, "alice");
  EXPECT_EQ(StringField(change, "old_status"), "away");
  EXPECT_EQ(StringField(change, "new_status"), "dnd");
  EXPECT_EQ(StatusOf("room", "alice"), "dnd");
}

TEST_F(PresenceTest, UserGoesOfflineWhenTheLastConnectionCloses) {
  auto alice1 = ConnectUser(port(), "alice", {"room"});
  auto alice2 = ConnectUser(port(), "alice", {"room"});
  auto bob = ConnectUser(port(), "bob", {"room"});

  alice1->Close();
  ASSERT_TRUE(WaitUntil(
      [&] {
        const json::object listing = GetPresence("room");
        const json::object* alice = FindUser(listing, "alice");
        return alice != nullptr && alice->at("connections") == json::value(1);
      },
      std::chrono::seconds(20)))
      << json::serialize(GetPresence("room"));
  EXPECT_EQ(StatusOf("room", "alice"), "online");

  alice2->Close();
  // The first change of alice bob sees is the final one: closing one of two connections
  // changed nothing.
  const json::object change = ReadPresenceChangeOf(*bob, "alice");
  EXPECT_EQ(change, json::parse(R"({"user_id":"alice","old_status":"online",)"
                                R"("new_status":"offline","topic":"room"})")
                        .as_object());
  // Listed as a user who left the topic (with their last_seen), no longer present.
  EXPECT_EQ(StatusOf("room", "alice"), "offline");
}

TEST_F(PresenceTest, UnsubscribingLeavesTheTopicsPresence) {
  auto alice = ConnectUser(port(), "alice", {"room"});
  auto bob = ConnectUser(port(), "bob", {"room"});
  alice->Send(R"({"type":"unsubscribe","topic":"room"})");
  ASSERT_EQ(StringField(alice->ReadSkippingPresence(), "type"), "unsubscribed");

  const json::object change = ReadPresenceChangeOf(*bob, "alice");
  EXPECT_EQ(StringField(change, "new_status"), "offline");
  EXPECT_EQ(StatusOf("room", "alice"), "offline");
}

}  // namespace
}  // namespace realtime::testing
