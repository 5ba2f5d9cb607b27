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
  EXPECT_THAT(error_of("http://h"), HasSubstr("scheme must be redis, rediss or unix"));
  EXPECT_THAT(error_of("not a url"), HasSubstr("REALTIME_REDIS_URL"));
  EXPECT_THAT(error_of("redis://"), HasSubstr("has no host"));
  EXPECT_THAT(error_of("redis://h/16"), HasSubstr("[0, 15]"));
  EXPECT_THAT(error_of("redis://h/x"), HasSubstr("database"));
  EXPECT_THAT(error_of("redis://h:0"), HasSubstr("port"));
  EXPECT_THAT(error_of("unix://"), HasSubstr("socket path"));
  EXPECT_THAT(error_of("rediss://h?ssl_cert_reqs=maybe"), HasSubstr("ssl_cert_reqs"));
}

}  // namespace
}  // namespace realtime
