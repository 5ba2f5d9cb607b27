#include "broker/user_command.hpp"

#include <gtest/gtest.h>

namespace realtime {
namespace {

TEST(UserCommandTest, RoundTripsEveryKind) {
  for (auto kind : {UserCommand::Kind::subscribe, UserCommand::Kind::unsubscribe,
                    UserCommand::Kind::disconnect}) {
    UserCommand c{kind, "alice", kind == UserCommand::Kind::disconnect ? "" : "channel:1",
                  kind == UserCommand::Kind::disconnect ? "banned \"x\"" : ""};
    std::string node, error;
    auto back = decode_user_command(encode_user_command(c, "node-a"), node, error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->kind, c.kind);
    EXPECT_EQ(back->user_id, "alice");
    EXPECT_EQ(back->topic, c.topic);
    EXPECT_EQ(back->reason, c.reason);
    EXPECT_EQ(node, "node-a");
  }
}

TEST(UserCommandTest, MalformedCommandsAreRefusedWithAReason) {
  const char* bad[] = {
      "",
      "[]",
      R"({"kind":"explode","user_id":"a"})",
      R"({"kind":"disconnect"})",
      R"({"kind":"disconnect","user_id":"a b"})",
      R"({"kind":"subscribe","user_id":"a"})",
      R"({"kind":"subscribe","user_id":"a","topic":"bad topic"})",
      R"({"kind":1,"user_id":"a"})",
  };
  for (const char* text : bad) {
    std::string node, error;
    EXPECT_FALSE(decode_user_command(text, node, error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  std::string node, error;
  EXPECT_FALSE(decode_user_command(
      R"({"kind":"disconnect","user_id":"a","reason":")" + std::string(124, 'x') + "\"}", node,
      error));
}

}  // namespace
}  // namespace realtime
