#include "redis/redis_endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace realtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Transport = RedisEndpoint::Transport;

RedisEndpoint parse(std::string_view url) { return parse_redis_url("REALTIME_REDIS_URL", url); }

std::string error_of(std::string_view url) {
  try {
    parse(url);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted " << url;
  return {};
}

TEST(RedisEndpointTest, PlainHostAndPort) {
  const auto ep = parse("redis://cache.internal:6380");
  EXPECT_EQ(ep.transport, Transport::tcp);
  EXPECT_EQ(ep.host, "cache.internal");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 0);
  EXPECT_TRUE(ep.password.empty());
}

TEST(RedisEndpointTest, DefaultPortIs6379) { EXPECT_EQ(parse("redis://localhost").port, 6379); }

TEST(RedisEndpointTest, PasswordOnlyAndUserWithPassword) {
  auto ep = parse("redis://:s3cret@localhost:6379/2");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.db, 2);
  ep = parse("redis://app:p%40ss@localhost");
  EXPECT_EQ(ep.username, "app");
  EXPECT_EQ(ep.password, "p@ss");  // percent-decoded
}

TEST(RedisEndpointTest, TlsScheme) {
  const auto ep = parse("rediss://redis.example.com:6380");
  EXPECT_EQ(ep.transport, Transport::tls);
  EXPECT_TRUE(ep.tls_verify);
  EXPECT_FALSE(parse("rediss://h?ssl_cert_reqs=none").tls_verify);
  EXPECT_EQ(parse("rediss://h?ssl_ca_certs=/etc/ca.pem").tls_ca_file, "/etc/ca.pem");
}

TEST(RedisEndpointTest, UnixSocketWithDbAndPassword) {
  const auto ep = parse("unix:///var/run/redis/redis.sock?db=3&password=pw");
  EXPECT_EQ(ep.transport, Transport::unix_socket);
  EXPECT_EQ(ep.path, "/var/run/redis/redis.sock");
  EXPECT_EQ(ep.db, 3);
  EXPECT_EQ(ep.password, "pw");
}

// From redis_url_fuzz: a unix:// URL's host and port name nothing; the socket path, the query
// and the masking are what count.
TEST(RedisEndpointTest, UnixSocketIgnoresHostAndPort) {
  const auto ep = parse("unix://ssword=:5/var/ruis.sock?dbck?db=4&password=word=u,nixpasspass1");
  EXPECT_EQ(ep.transport, Transport::unix_socket);
  EXPECT_EQ(ep.path, "/var/ruis.sock");
  EXPECT_EQ(ep.db, 0);  // the key is "dbck?db"
  EXPECT_EQ(ep.password, "word=u,nixpasspass1");
  EXPECT_EQ(ep.display(), "unix:///var/ruis.sock");
  EXPECT_EQ(parse("unix://localhost:6380/s.sock").display(), "unix:///s.sock");
}

// From redis_url_fuzz (r6is://0?#7): Boost.URL 1.81 runs past the end of an empty query
// followed by a fragment when iterating its parameters (boostorg/url#864), so REALTIME_REDIS_URL
// set to this crashed the server at start-up instead of being read.
TEST(RedisEndpointTest, EmptyQueryBeforeAFragmentIsRead) {
  for (const char* url : {"redis://0?#7", "redis://h?#", "unix:///s.sock?#x"}) {
    const auto ep = parse(url);
    EXPECT_EQ(ep.db, 0) << url;
    EXPECT_TRUE(ep.password.empty()) << url;
  }
  EXPECT_EQ(parse("redis://0?#7").host, "0");
  EXPECT_EQ(parse("redis://h?db=2#x").db, 2);
}

TEST(RedisEndpointTest, Ipv6HostLosesItsBrackets) {
  EXPECT_EQ(parse("redis://[::1]:6379").host, "::1");
}

TEST(RedisEndpointTest, DisplayMasksThePassword) {
  EXPECT_EQ(parse("redis://app:secret@h:1/4").display(), "redis://app:****@h:1/4");
  EXPECT_EQ(parse("redis://:secret@h").display(), "redis://:****@h:6379");
  EXPECT_EQ(parse("unix:///s.sock").display(), "unix:///s.sock");
}

// Found by redis_url_fuzz: Boost.URL's port_number() wraps at 65536, so this URL was accepted
// as port 34463 instead of refused.
TEST(RedisEndpointTest, PortAbove65535IsRefusedNotWrapped) {
  EXPECT_THAT(error_of("redis://h:99999"), HasSubstr("port must be 1-65535"));
  EXPECT_THAT(error_of("redis://h:65536"), HasSubstr("port must be 1-65535"));
  EXPECT_EQ(parse("redis://h:65535").port, 65535);
  EXPECT_EQ(parse("redis://h:06379").port, 6379);
}

// Found by redis_url_fuzz: refusals quoted the whole URL, password included, into the log.
TEST(RedisEndpointTest, RefusalsNeverQuoteThePassword) {
  for (const char* url :
       {"redis://user:hunter2hunter2@h:99999", "redis://:hunter2hunter2@h/16",
        "rediss://:hunter2hunter2@h?ssl_cert_reqs=maybe", "redis://:hunter2 hunter2@h",
        "unix://?password=hunter2hunter2", "redis://h?pass%77ord=hunter2hunter2&db=x"}) {
    const std::string message = error_of(url);
    EXPECT_THAT(message, Not(HasSubstr("hunter2"))) << url;
    EXPECT_THAT(message, HasSubstr("REALTIME_REDIS_URL")) << url;
  }
}

TEST(RedisEndpointTest, BadUrlsNameTheVariableAndTheProblem) {
  EXPECT_THAT(error_of("http://h"), HasSubstr("scheme must be redis, rediss, redis+sentinel"));
  EXPECT_THAT(error_of("not a url"), HasSubstr("REALTIME_REDIS_URL"));
  EXPECT_THAT(error_of("redis://"), HasSubstr("has no host"));
  EXPECT_THAT(error_of("redis://h/16"), HasSubstr("[0, 15]"));
  EXPECT_THAT(error_of("redis://h/x"), HasSubstr("database"));
  EXPECT_THAT(error_of("redis://h:0"), HasSubstr("port"));
  EXPECT_THAT(error_of("unix://"), HasSubstr("socket path"));
  EXPECT_THAT(error_of("rediss://h?ssl_cert_reqs=maybe"), HasSubstr("ssl_cert_reqs"));
}

TEST(RedisEndpointTest, SentinelsAndTheMasterName) {
  const auto ep = parse("redis+sentinel://:pw@s1,10.0.0.2:26380,[::1]:5000/mymaster/2");
  EXPECT_TRUE(ep.uses_sentinel());
  EXPECT_EQ(ep.transport, Transport::tcp);
  ASSERT_EQ(ep.sentinels.size(), 3u);
  EXPECT_EQ(ep.sentinels[0], (RedisAddress{"s1", 26379}));
  EXPECT_EQ(ep.sentinels[1], (RedisAddress{"10.0.0.2", 26380}));
  EXPECT_EQ(ep.sentinels[2], (RedisAddress{"::1", 5000}));
  EXPECT_EQ(ep.master_name, "mymaster");
  EXPECT_EQ(ep.db, 2);
  EXPECT_EQ(ep.password, "pw");  // the master's
  EXPECT_TRUE(ep.sentinel_password.empty());
  EXPECT_EQ(ep.display(), "redis+sentinel://:****@s1:26379,10.0.0.2:26380,[::1]:5000/mymaster/2");
}

TEST(RedisEndpointTest, SentinelsMayHaveTheirOwnCredentialsAndTls) {
  const auto ep = parse(
      "rediss+sentinel://s1:26379/m?sentinel_password=spw&sentinel_user=sen&ssl_cert_reqs=none");
  EXPECT_EQ(ep.transport, Transport::tls);
  EXPECT_EQ(ep.sentinel_password, "spw");
  EXPECT_EQ(ep.sentinel_username, "sen");
  EXPECT_FALSE(ep.tls_verify);
  const RedisEndpoint one = ep.sentinel_endpoint(ep.sentinels[0]);
  EXPECT_FALSE(one.uses_sentinel());
  EXPECT_EQ(one.transport, Transport::tls);
  EXPECT_EQ(one.host, "s1");
  EXPECT_EQ(one.port, 26379);
  EXPECT_EQ(one.password, "spw");
  EXPECT_EQ(one.username, "sen");
  EXPECT_FALSE(one.tls_verify);
  EXPECT_EQ(one.db, 0);
}

TEST(RedisEndpointTest, SwitchMasterMessages) {
  const auto sw = parse_switch_master("mymaster 10.0.0.1 6379 10.0.0.2 6380");
  ASSERT_TRUE(sw);
  EXPECT_EQ(sw->name, "mymaster");
  EXPECT_EQ(sw->to, (RedisAddress{"10.0.0.2", 6380}));
  EXPECT_EQ(parse_switch_master("m ::1 6379 ::2 7000")->to, (RedisAddress{"::2", 7000}));
  for (const char* bad :
       {"", "m", "m 1 2 3", "m 10.0.0.1 6379 10.0.0.2 6380 extra", "m 10.0.0.1 6379 10.0.0.2 0",
        "m 10.0.0.1 6379 10.0.0.2 70000", "m 10.0.0.1 6379  6380", "m a b c 12x", " 1 2 3 4"}) {
    EXPECT_FALSE(parse_switch_master(bad)) << bad;
  }
}

TEST(RedisEndpointTest, BadSentinelUrlsSayWhatIsWrong) {
  EXPECT_THAT(error_of("redis+sentinel://s1:26379"), HasSubstr("names no master"));
  EXPECT_THAT(error_of("redis+sentinel://s1:26379/"), HasSubstr("names no master"));
  EXPECT_THAT(error_of("redis+sentinel:///m"), HasSubstr("is not a sentinel"));
  EXPECT_THAT(error_of("redis+sentinel://s1,,s2/m"), HasSubstr("is not a sentinel"));
  EXPECT_THAT(error_of("redis+sentinel://s1,/m"), HasSubstr("is not a sentinel"));
  EXPECT_THAT(error_of("redis+sentinel://s1:99999/m"), HasSubstr("port must be 1-65535"));
  EXPECT_THAT(error_of("redis+sentinel://s1/m/16"), HasSubstr("[0, 15]"));
  const std::string message = error_of("redis+sentinel://:hunter2hunter2@s1:0/m");
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  EXPECT_THAT(error_of("redis+sentinel://s1/m?sentinel_password=hunter2hunter2&db=99"),
              Not(HasSubstr("hunter2")));
}

TEST(RedisEndpointTest, ClusterSeedNodes) {
  const auto ep = parse("redis+cluster://:pw@n1,10.0.0.2:7001,[::1]:7002");
  EXPECT_TRUE(ep.uses_cluster());
  EXPECT_FALSE(ep.uses_sentinel());
  EXPECT_EQ(ep.transport, Transport::tcp);
  ASSERT_EQ(ep.cluster_nodes.size(), 3u);
  EXPECT_EQ(ep.cluster_nodes[0], (RedisAddress{"n1", 6379}));
  EXPECT_EQ(ep.cluster_nodes[1], (RedisAddress{"10.0.0.2", 7001}));
  EXPECT_EQ(ep.cluster_nodes[2], (RedisAddress{"::1", 7002}));
  EXPECT_EQ(ep.password, "pw");
  EXPECT_EQ(ep.db, 0);
  EXPECT_EQ(ep.display(), "redis+cluster://:****@n1:6379,10.0.0.2:7001,[::1]:7002");
  const auto tls = parse("rediss+cluster://u:p@n1:7000/?ssl_cert_reqs=none");
  EXPECT_EQ(tls.transport, Transport::tls);
  EXPECT_FALSE(tls.tls_verify);
  EXPECT_EQ(tls.username, "u");
  EXPECT_EQ(tls.display(), "rediss+cluster://u:****@n1:7000");
}

TEST(RedisEndpointTest, BadClusterUrlsSayWhatIsWrong) {
  EXPECT_THAT(error_of("redis+cluster://n1:7000/2"), HasSubstr("database 0 only"));
  EXPECT_THAT(error_of("redis+cluster://n1:7000?db=3"), HasSubstr("database 0 only"));
  EXPECT_THAT(error_of("redis+cluster://"), HasSubstr("is not a cluster node"));
  EXPECT_THAT(error_of("redis+cluster://n1,,n2"), HasSubstr("is not a cluster node"));
  EXPECT_THAT(error_of("redis+cluster://n1:70000"), HasSubstr("port must be 1-65535"));
  EXPECT_THAT(error_of("redis+cluster://:hunter2hunter2@n1:0"), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace realtime
