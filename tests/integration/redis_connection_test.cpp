#include "redis/redis_connection.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>

#include "support/redis_process.hpp"

namespace realtime::testing {
namespace {

using namespace std::chrono_literals;

// A burst (a reconnect storm's scripts) grows the write buffer to megabytes in one loop turn;
// once written, the connection must not keep that much for the rest of its life.
TEST(RedisConnectionTest, GivesBackABurstsWriteBufferOnceWritten) {
  RedisProcess redis;
  boost::asio::io_context io;
  RedisConnection connection(io, parse_redis_url("REDIS_URL", redis.Url()), "test");
  connection.on_ready([&] { io.stop(); });
  connection.start();
  io.run_for(10s);
  ASSERT_TRUE(connection.ready());
  io.restart();

  const std::string value(1000, 'x');
  constexpr int kCommands = 5000;  // about 5 MB in one write
  int replies = 0;
  bool all_ok = true;
  for (int i = 0; i < kCommands; ++i) {
    connection.command({"ECHO", value}, [&](const redisReply* reply) {
      all_ok = all_ok && reply != nullptr && reply_string(*reply) == value;
      if (++replies == kCommands) io.stop();
    });
  }
  EXPECT_GT(connection.backlog_bytes(), 5'000'000u);
  io.run_for(30s);
  ASSERT_EQ(replies, kCommands);
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(connection.backlog_bytes(), 0u);
  EXPECT_LE(connection.write_buffer_capacity(), 128u * 1024);
  connection.stop();
}

}  // namespace
}  // namespace realtime::testing
