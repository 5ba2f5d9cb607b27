#include "redis/resp.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

namespace realtime {
namespace {

TEST(RespTest, CommandsAreRespArraysOfBulkStrings) {
  std::string out;
  append_command(out, {"PUBLISH", "realtime:topic:a", "{\"x\":1}"});
  EXPECT_EQ(out, "*3\r\n$7\r\nPUBLISH\r\n$16\r\nrealtime:topic:a\r\n$7\r\n{\"x\":1}\r\n");
}

TEST(RespTest, BinaryAndEmptyArgumentsAreLengthPrefixed) {
  std::string out;
  append_command(out, std::vector<std::string_view>{"SET", std::string_view("a\0\r\nb", 5), ""});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$5\r\na\0\r\nb\r\n$0\r\n\r\n", 30));
}

TEST(RespTest, PipelinedCommandsAppend) {
  std::string out;
  append_command(out, {"PING"});
  append_command(out, {"PING"});
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
}

TEST(RespTest, ReaderAssemblesRepliesAcrossFeeds) {
  ReplyReader reader;
  std::string error;
  reader.feed("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhel");
  EXPECT_EQ(reader.next(error), nullptr);
  EXPECT_TRUE(error.empty());
  reader.feed("lo\r\n:42\r\n");
  ReplyPtr push = reader.next(error);
  ASSERT_NE(push, nullptr);
  ASSERT_TRUE(reply_is_array(*push));
  ASSERT_EQ(reply_size(*push), 3u);
  EXPECT_EQ(reply_string(reply_at(*push, 0)), "message");
  EXPECT_EQ(reply_string(reply_at(*push, 2)), "hello");
  ReplyPtr number = reader.next(error);
  ASSERT_NE(number, nullptr);
  EXPECT_TRUE(reply_is_integer(*number));
  EXPECT_EQ(reply_integer(*number), 42);
  EXPECT_EQ(reader.next(error), nullptr);
}

TEST(RespTest, ErrorRepliesAreRecognised) {
  ReplyReader reader;
  std::string error;
  reader.feed("-NOSCRIPT No matching script\r\n$-1\r\n");
  ReplyPtr err = reader.next(error);
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(reply_is_error(*err));
  EXPECT_EQ(reply_string(*err), "NOSCRIPT No matching script");
  ReplyPtr nil = reader.next(error);
  ASSERT_NE(nil, nullptr);
  EXPECT_EQ(nil->type, REDIS_REPLY_NIL);
}

TEST(RespTest, GarbageIsAProtocolError) {
  ReplyReader reader;
  std::string error;
  reader.feed("?what\r\n");
  EXPECT_EQ(reader.next(error), nullptr);
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace realtime
