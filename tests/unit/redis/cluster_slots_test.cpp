#include "redis/cluster_slots.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/crc.hpp>

#include "redis/resp.hpp"

namespace realtime {
namespace {

using ::testing::HasSubstr;

// RESP text builders: the tests write replies the way a node sends them.
std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string integer(long long n) { return ":" + std::to_string(n) + "\r\n"; }
std::string array(std::size_t n) { return "*" + std::to_string(n) + "\r\n"; }
// Redis 7's [endpoint, port, id, metadata] (RESP2: the metadata is a flat array).
std::string node(std::string_view host, long long port, std::string_view id) {
  return array(4) + bulk(host) + integer(port) + bulk(id) + array(0);
}
std::string range(long long start, long long end, const std::string& master) {
  return array(3) + integer(start) + integer(end) + master;
}

ReplyPtr parse(const std::string& resp) {
  ReplyReader reader;
  std::string error;
  reader.feed(resp);
  ReplyPtr reply = reader.next(error);
  EXPECT_NE(reply, nullptr) << error << " in " << resp;
  return reply;
}

std::optional<ClusterSlotMap> map_of(const std::string& resp, std::string& error,
                                     std::string_view queried = "10.0.0.9") {
  ReplyPtr reply = parse(resp);
  if (reply == nullptr) return std::nullopt;
  return ClusterSlotMap::from_cluster_slots(*reply, queried, error);
}

// The error of a reply that must be refused.
std::string refusal(const std::string& resp) {
  std::string error;
  if (map_of(resp, error).has_value()) {
    ADD_FAILURE() << "accepted " << resp;
    return {};
  }
  EXPECT_FALSE(error.empty());
  return error;
}

const std::string kId1(40, 'a'), kId2(40, 'b'), kId3(40, 'c');

std::string three_masters() {
  return array(3) + range(0, 5460, node("127.0.0.1", 7001, kId1)) +
         range(5461, 10922, node("127.0.0.1", 7002, kId2)) +
         range(10923, 16383, node("127.0.0.1", 7003, kId3));
}

// ---- key_slot ----

TEST(KeySlotTest, Crc16IsXmodem) {
  boost::crc_optimal<16, 0x1021, 0, 0, false, false> crc;
  crc.process_bytes("123456789", 9);
  EXPECT_EQ(crc.checksum(), 0x31C3);
  EXPECT_EQ(key_slot("123456789"), 0x31C3);  // below 16384: the slot is the CRC
}

// Each value checked against redis-server 7.0.15's CLUSTER KEYSLOT.
TEST(KeySlotTest, MatchesRedis) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("zap"), 6469);
  EXPECT_EQ(key_slot(""), 0);
  EXPECT_EQ(key_slot("{}"), 15257);
  EXPECT_EQ(key_slot("a{b"), 13340);
  EXPECT_EQ(key_slot("a}b{c}"), 7365);
  EXPECT_EQ(key_slot("{user1000}.following"), 3443);
}

TEST(KeySlotTest, HashTagSharesTheSlot) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("realtime:{topic-a}:history"), key_slot("topic-a"));
}

TEST(KeySlotTest, EmptyTagHashesTheWholeKey) {
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
}

TEST(KeySlotTest, TagEndsAtTheFirstCloseAfterTheFirstOpen) {
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("a}b{c}"), key_slot("c"));  // a '}' before the '{' doesn't count
}

TEST(KeySlotTest, UnclosedTagHashesTheWholeKey) {
  EXPECT_EQ(key_slot("{bar"), 4015);
  EXPECT_NE(key_slot("x{bar"), key_slot("bar"));
}

TEST(KeySlotTest, BinaryKeys) {
  const std::string key("a\0{b\0}c", 7);
  EXPECT_EQ(key_slot(key), key_slot(std::string_view("b\0", 2)));
  EXPECT_LT(key_slot(std::string(300, '\xff')), cluster_slot_count);
}

// ---- ClusterSlotMap ----

TEST(ClusterSlotMapTest, ThreeMasters) {
  std::string error;
  const auto map = map_of(three_masters(), error);
  ASSERT_TRUE(map.has_value()) << error;
  ASSERT_EQ(map->nodes().size(), 3u);
  EXPECT_EQ(map->nodes()[0], (ClusterNode{"127.0.0.1", 7001, kId1}));
  EXPECT_EQ(map->nodes()[1], (ClusterNode{"127.0.0.1", 7002, kId2}));
  EXPECT_EQ(map->nodes()[2], (ClusterNode{"127.0.0.1", 7003, kId3}));
  EXPECT_EQ(map->owner(0), 0u);
  EXPECT_EQ(map->owner(5460), 0u);
  EXPECT_EQ(map->owner(5461), 1u);
  EXPECT_EQ(map->owner(key_slot("foo")), 2u);  // 12182
  EXPECT_EQ(map->owner(16383), 2u);
  EXPECT_EQ(map->owner(16384), std::nullopt);
  EXPECT_EQ(map->owner(0xFFFF), std::nullopt);
  EXPECT_TRUE(map->covers_all_slots());
  EXPECT_EQ(map->find("127.0.0.1", 7002), 1u);
  EXPECT_EQ(map->find("127.0.0.1", 7004), std::nullopt);
  EXPECT_EQ(map->find("localhost", 7002), std::nullopt);
}

// Captured from redis-server 7.0.15 (three masters): the metadata is a flat array, and an
// unknown endpoint is nil (cluster-preferred-endpoint-type unknown-endpoint) or "?" (hostname,
// none announced). hiredis 0.14 reads RESP2 only, so no RESP3 forms.
TEST(ClusterSlotMapTest, RealRedis7Replies) {
  const std::string id1 = "$40\r\nfc400d20aadce8db85d5154f31b42f85269c253b\r\n";
  const std::string id2 = "$40\r\n2007646460b9821b0ce1475a15cf956dd99d906b\r\n";
  const std::string id3 = "$40\r\n7764768fb8d79628ce4c1bd05b417446196da685\r\n";
  const std::string ip_meta = "*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n";
  const std::string by_ip =
      "*3\r\n"
      "*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:17101\r\n" +
      id1 +
      "*0\r\n"
      "*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:17102\r\n" +
      id2 +
      "*2\r\n$8\r\nhostname\r\n$11\r\nnode2.local\r\n"
      "*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:17103\r\n" +
      id3 + "*0\r\n";
  const std::string unknown =
      "*3\r\n"
      "*3\r\n:0\r\n:5460\r\n*4\r\n$-1\r\n:17101\r\n" +
      id1 + ip_meta + "*3\r\n:5461\r\n:10922\r\n*4\r\n$-1\r\n:17102\r\n" + id2 + ip_meta +
      "*3\r\n:10923\r\n:16383\r\n*4\r\n$-1\r\n:17103\r\n" + id3 + ip_meta;
  const std::string question =
      "*3\r\n"
      "*3\r\n:0\r\n:5460\r\n*4\r\n$1\r\n?\r\n:17101\r\n" +
      id1 + ip_meta + "*3\r\n:5461\r\n:10922\r\n*4\r\n$1\r\n?\r\n:17102\r\n" + id2 + ip_meta +
      "*3\r\n:10923\r\n:16383\r\n*4\r\n$1\r\n?\r\n:17103\r\n" + id3 + ip_meta;
  for (const auto& [resp, host] :
       {std::pair{&by_ip, "127.0.0.1"}, std::pair{&unknown, "redis.example"},
        std::pair{&question, "redis.example"}}) {
    SCOPED_TRACE(*resp);
    std::string error;
    const auto map = map_of(*resp, error, "redis.example");
    ASSERT_TRUE(map.has_value()) << error;
    ASSERT_EQ(map->nodes().size(), 3u);
    EXPECT_EQ(map->nodes()[2],
              (ClusterNode{host, 17103, "7764768fb8d79628ce4c1bd05b417446196da685"}));
    EXPECT_EQ(map->owner(key_slot("foo")), 2u);
    EXPECT_TRUE(map->covers_all_slots());
  }
}

TEST(ClusterSlotMapTest, EmptyEndpointIsTheQueriedHost) {
  std::string error;
  const auto map = map_of(array(1) + range(0, 16383, node("", 7001, kId1)), error, "10.1.2.3");
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_EQ(map->nodes()[0].host, "10.1.2.3");
}

TEST(ClusterSlotMapTest, HostnamesAndIpv6AreKept) {
  std::string error;
  const auto map = map_of(array(2) + range(0, 99, node("redis-0.redis.svc", 6379, kId1)) +
                              range(100, 199, node("::1", 6380, kId2)),
                          error);
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_EQ(map->nodes()[0].host, "redis-0.redis.svc");
  EXPECT_EQ(map->nodes()[1].host, "::1");
  EXPECT_EQ(map->find("::1", 6380), 1u);
}

TEST(ClusterSlotMapTest, ReplicasAreIgnored) {
  std::string error;
  // A replica that is itself malformed doesn't matter either: only the master is read.
  const auto map =
      map_of(array(1) + array(5) + integer(0) + integer(16383) + node("127.0.0.1", 7001, kId1) +
                 node("127.0.0.1", 7004, kId2) + integer(42),
             error);
  ASSERT_TRUE(map.has_value()) << error;
  ASSERT_EQ(map->nodes().size(), 1u);
  EXPECT_EQ(map->nodes()[0].port, 7001);
  EXPECT_EQ(map->find("127.0.0.1", 7004), std::nullopt);
}

TEST(ClusterSlotMapTest, OneNodePerAddress) {
  std::string error;
  // A master with several ranges (after a reshard) appears once per range.
  const auto map = map_of(array(3) + range(0, 99, node("127.0.0.1", 7001, kId1)) +
                              range(100, 199, node("127.0.0.1", 7002, kId2)) +
                              range(200, 16383, node("127.0.0.1", 7001, kId1)),
                          error);
  ASSERT_TRUE(map.has_value()) << error;
  ASSERT_EQ(map->nodes().size(), 2u);
  EXPECT_EQ(map->owner(50), 0u);
  EXPECT_EQ(map->owner(150), 1u);
  EXPECT_EQ(map->owner(300), 0u);
  // Same address under another id: still one node, the first id.
  const auto odd = map_of(array(2) + range(0, 0, node("127.0.0.1", 7001, kId1)) +
                              range(1, 1, node("127.0.0.1", 7001, kId2)),
                          error);
  ASSERT_TRUE(odd.has_value()) << error;
  ASSERT_EQ(odd->nodes().size(), 1u);
  EXPECT_EQ(odd->nodes()[0].id, kId1);
  // Same host, another port: another node.
  const auto two = map_of(array(2) + range(0, 0, node("127.0.0.1", 7001, kId1)) +
                              range(1, 1, node("127.0.0.2", 7001, kId2)),
                          error);
  ASSERT_TRUE(two.has_value()) << error;
  EXPECT_EQ(two->nodes().size(), 2u);
}

TEST(ClusterSlotMapTest, UnassignedSlots) {
  std::string error;
  const auto map = map_of(array(1) + range(10, 20, node("127.0.0.1", 7001, kId1)), error);
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_EQ(map->owner(9), std::nullopt);
  EXPECT_EQ(map->owner(10), 0u);
  EXPECT_EQ(map->owner(20), 0u);
  EXPECT_EQ(map->owner(21), std::nullopt);
  EXPECT_FALSE(map->covers_all_slots());
}

// A fresh cluster node with no slots answers an empty array: a valid, empty map.
TEST(ClusterSlotMapTest, NoSlotsAtAll) {
  std::string error;
  const auto map = map_of(array(0), error);
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_TRUE(map->nodes().empty());
  EXPECT_EQ(map->owner(0), std::nullopt);
  EXPECT_FALSE(map->covers_all_slots());
}

TEST(ClusterSlotMapTest, OldFormatWithoutIds) {
  std::string error;
  const auto map = map_of(
      array(1) + array(3) + integer(0) + integer(16383) + array(2) + bulk("h") + integer(1), error);
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_EQ(map->nodes()[0], (ClusterNode{"h", 1, ""}));
}

TEST(ClusterSlotMapTest, EqualityComparesOwners) {
  std::string error;
  const auto a = map_of(three_masters(), error);
  const auto b = map_of(three_masters(), error);
  const auto moved = map_of(array(3) + range(0, 5459, node("127.0.0.1", 7001, kId1)) +
                                range(5460, 10922, node("127.0.0.1", 7002, kId2)) +
                                range(10923, 16383, node("127.0.0.1", 7003, kId3)),
                            error);
  ASSERT_TRUE(a && b && moved);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *moved);
}

TEST(ClusterSlotMapTest, ErrorRepliesAndNonArrays) {
  EXPECT_THAT(refusal("-ERR This instance has cluster support disabled\r\n"),
              HasSubstr("cluster support disabled"));
  EXPECT_THAT(refusal(integer(3)), HasSubstr("not an array"));
  EXPECT_THAT(refusal(bulk("slots")), HasSubstr("not an array"));
  EXPECT_THAT(refusal("$-1\r\n"), HasSubstr("not an array"));
}

TEST(ClusterSlotMapTest, MalformedEntries) {
  const std::string good = node("127.0.0.1", 7001, kId1);
  EXPECT_THAT(refusal(array(1) + integer(0)), HasSubstr("entry 0"));
  EXPECT_THAT(refusal(array(1) + array(2) + integer(0) + integer(1)), HasSubstr("entry 0"));
  EXPECT_THAT(refusal(array(2) + range(0, 0, good) + array(0)), HasSubstr("entry 1"));
  // Slot bounds are integers.
  EXPECT_THAT(refusal(array(1) + array(3) + bulk("0") + integer(1) + good),
              HasSubstr("two integers"));
  EXPECT_THAT(refusal(array(1) + array(3) + integer(0) + "$-1\r\n" + good),
              HasSubstr("two integers"));
  // The master.
  EXPECT_THAT(refusal(array(1) + range(0, 1, bulk("127.0.0.1:7001"))), HasSubstr("master"));
  EXPECT_THAT(refusal(array(1) + range(0, 1, array(1) + bulk("127.0.0.1"))), HasSubstr("master"));
  EXPECT_THAT(refusal(array(1) + range(0, 1, array(3) + integer(1) + integer(7001) + bulk(kId1))),
              HasSubstr("endpoint"));
  EXPECT_THAT(refusal(array(1) + range(0, 1, array(3) + "-ERR x\r\n" + integer(7001) + bulk(kId1))),
              HasSubstr("endpoint"));
  EXPECT_THAT(
      refusal(array(1) + range(0, 1, array(3) + bulk("127.0.0.1") + integer(7001) + integer(5))),
      HasSubstr("node id"));
  EXPECT_THAT(refusal(array(1) + range(0, 1, array(3) + bulk("h") + bulk("7001") + bulk(kId1))),
              HasSubstr("port"));
}

TEST(ClusterSlotMapTest, RangesOutOfBounds) {
  const std::string good = node("127.0.0.1", 7001, kId1);
  EXPECT_THAT(refusal(array(1) + range(-1, 5, good)), HasSubstr("bad slot range -1-5"));
  EXPECT_THAT(refusal(array(1) + range(0, 16384, good)), HasSubstr("bad slot range"));
  EXPECT_THAT(refusal(array(1) + range(16384, 16384, good)), HasSubstr("bad slot range"));
  EXPECT_THAT(refusal(array(1) + range(10, 9, good)), HasSubstr("bad slot range 10-9"));
  EXPECT_THAT(refusal(array(1) + range(0, 9223372036854775807LL, good)),
              HasSubstr("bad slot range"));
  EXPECT_THAT(refusal(array(2) + range(0, 100, good) + range(100, 200, good)),
              HasSubstr("slot 100 is listed twice"));
}

TEST(ClusterSlotMapTest, PortsOutOfRange) {
  for (long long port : {0LL, -1LL, 65536LL, 1LL << 40}) {
    EXPECT_THAT(refusal(array(1) + range(0, 1, node("h", port, kId1))), HasSubstr("port")) << port;
  }
  std::string error;
  EXPECT_TRUE(map_of(array(1) + range(0, 1, node("h", 65535, kId1)), error).has_value()) << error;
}

// Replies from the network: every truncation and many corruptions of a real reply either
// parse or are refused, without crashing (the sanitizer build checks the reads).
TEST(ClusterSlotMapTest, CorruptedRepliesNeverCrash) {
  const std::string base = three_masters();
  std::size_t parsed = 0;
  auto attempt = [&](const std::string& resp) {
    ReplyReader reader;
    std::string error;
    reader.feed(resp);
    ReplyPtr reply = reader.next(error);
    if (reply == nullptr) return;
    ++parsed;
    const auto map = ClusterSlotMap::from_cluster_slots(*reply, "h", error);
    if (map) {
      for (std::size_t slot = 0; slot < cluster_slot_count; slot += 97) {
        if (auto owner = map->owner(static_cast<std::uint16_t>(slot))) {
          EXPECT_LT(*owner, map->nodes().size());
        }
      }
    } else {
      EXPECT_FALSE(error.empty());
    }
  };
  for (std::size_t i = 0; i < base.size(); ++i) {
    for (char c : {'*', ':', '$', '-', '+', '_', '0', '2', '9', '\r'}) {
      std::string mutated = base;
      mutated[i] = c;
      attempt(mutated);
    }
  }
  EXPECT_GT(parsed, 100u);
}

// ---- redirections ----

TEST(ClusterRedirectTest, Moved) {
  EXPECT_EQ(parse_cluster_redirect("MOVED 3999 127.0.0.1:6381"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 3999, "127.0.0.1", 6381}));
  EXPECT_EQ(parse_cluster_redirect("MOVED 0 redis-0.redis.svc:6379"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 0, "redis-0.redis.svc", 6379}));
  EXPECT_EQ(parse_cluster_redirect("MOVED 16383 h:65535"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 16383, "h", 65535}));
}

TEST(ClusterRedirectTest, Ask) {
  EXPECT_EQ(parse_cluster_redirect("ASK 3999 127.0.0.1:6381"),
            (ClusterRedirect{ClusterRedirect::Kind::ask, 3999, "127.0.0.1", 6381}));
}

TEST(ClusterRedirectTest, Ipv6SplitsAtTheLastColon) {
  EXPECT_EQ(parse_cluster_redirect("MOVED 3999 ::1:6381"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 3999, "::1", 6381}));
  EXPECT_EQ(parse_cluster_redirect("ASK 7 2001:db8::7:6379"),
            (ClusterRedirect{ClusterRedirect::Kind::ask, 7, "2001:db8::7", 6379}));
  EXPECT_EQ(parse_cluster_redirect("MOVED 7 [2001:db8::7]:6379"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 7, "2001:db8::7", 6379}));
}

// Redis 7 with an unknown endpoint (":port") or an unknown hostname ("?:port"), both seen
// from redis-server 7.0.15: the host is left empty for the caller to fill in.
TEST(ClusterRedirectTest, UnknownEndpointIsEmpty) {
  EXPECT_EQ(parse_cluster_redirect("MOVED 3999 :6381"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 3999, "", 6381}));
  EXPECT_EQ(parse_cluster_redirect("MOVED 12182 ?:17103"),
            (ClusterRedirect{ClusterRedirect::Kind::moved, 12182, "", 17103}));
}

TEST(ClusterRedirectTest, AnythingElseIsNotARedirect) {
  for (std::string_view text : {"",
                                "MOVED",
                                "MOVED ",
                                "MOVED 3999",
                                "MOVED 3999 ",
                                "MOVED 3999 127.0.0.1",
                                "MOVED 3999 127.0.0.1:",
                                "MOVED 3999 127.0.0.1:0",
                                "MOVED 3999 127.0.0.1:65536",
                                "MOVED 3999 127.0.0.1:63x1",
                                "MOVED 3999 127.0.0.1:-1",
                                "MOVED 3999 127.0.0.1:+6381",
                                "MOVED 16384 127.0.0.1:6381",
                                "MOVED -1 127.0.0.1:6381",
                                "MOVED x 127.0.0.1:6381",
                                "MOVED  3999 127.0.0.1:6381",
                                "MOVED 3999 127.0.0.1:6381 extra",
                                "MOVED 3999 127.0.0.1 :6381",
                                "moved 3999 127.0.0.1:6381",
                                "MOVEDX 3999 h:1",
                                "ERR MOVED 3999 127.0.0.1:6381",
                                "ASKING",
                                "ASK",
                                "CLUSTERDOWN The cluster is down",
                                "TRYAGAIN Multiple keys request during rehashing of slot",
                                "NOSCRIPT No matching script",
                                "MOVED 99999999999999999999 h:1"}) {
    EXPECT_EQ(parse_cluster_redirect(text), std::nullopt) << text;
  }
}

TEST(ClusterErrorTest, ClusterDownAndTryAgain) {
  EXPECT_TRUE(is_cluster_down("CLUSTERDOWN The cluster is down"));
  EXPECT_TRUE(is_cluster_down("CLUSTERDOWN Hash slot not served"));
  EXPECT_TRUE(is_cluster_down("CLUSTERDOWN"));
  EXPECT_FALSE(is_cluster_down("ERR CLUSTERDOWN"));
  EXPECT_FALSE(is_cluster_down("CLUSTERDOWNX"));
  EXPECT_FALSE(is_cluster_down("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(is_try_again("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(is_try_again("MOVED 1 h:1"));
  EXPECT_FALSE(is_try_again(""));
}

}  // namespace
}  // namespace realtime
