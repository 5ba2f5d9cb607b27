#include "server/routes/user_command_routes.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace realtime {
namespace {

namespace json = boost::json;

class UserCommandRoutesTest : public ::testing::Test {
 protected:
  UserCommandRoutesTest() {
    config.api_key = "k";
    routes.set_apply([this](UserCommand c, std::function<void(std::size_t)> done) {
      applied.push_back(std::move(c));
      done(2);
    });
  }
  HttpResponse post(std::string_view path, std::string body, std::string key = "k") {
    HttpRequest r{
        "POST", std::string(path), {{"authorization", "Bearer " + key}}, std::move(body), false};
    HttpResponse out;
    routes.handle(r, path, [&](HttpResponse response) { out = std::move(response); });
    return out;
  }

  Config config;
  Metrics metrics{1};
  UserCommandRoutes routes{config, metrics};
  std::vector<UserCommand> applied;
};

TEST_F(UserCommandRoutesTest, EachPathIsItsCommandAndAnswersTheLocalCount) {
  EXPECT_EQ(json::parse(post("/realtime/subscribe", R"({"user_id":"a","topic":"dm:1"})").body),
            json::parse(R"({"local":2,"broadcast":true})"));
  post("/realtime/unsubscribe", R"({"user_id":"a","topic":"channel:2"})");
  post("/realtime/disconnect", R"({"user_id":"a","reason":"banned"})");
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[0].kind, UserCommand::Kind::subscribe);
  EXPECT_EQ(applied[0].topic, "dm:1");
  EXPECT_EQ(applied[1].kind, UserCommand::Kind::unsubscribe);
  EXPECT_EQ(applied[2].kind, UserCommand::Kind::disconnect);
  EXPECT_EQ(applied[2].reason, "banned");
}

TEST_F(UserCommandRoutesTest, BadBodiesAreRefusedAndNothingIsApplied) {
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/realtime/subscribe", "{"},
           {"/realtime/subscribe", R"({"user_id":"a"})"},
           {"/realtime/unsubscribe", R"({"user_id":"a","topic":"bad topic"})"},
           {"/realtime/subscribe", R"({"user_id":"a","topic":"realtime.events"})"},
           {"/realtime/disconnect", R"({"topic":"x"})"},
           {"/realtime/disconnect", R"({"user_id":"a","reason":")" + std::string(124, 'r') + "\"}"},
           {"/realtime/disconnect",
            R"({"user_id":"a","reason":")" + std::string("\xff") + "\"}"}}) {
    EXPECT_EQ(post(path, body).status, 400) << path << ' ' << body;
  }
  EXPECT_TRUE(applied.empty());
}

TEST_F(UserCommandRoutesTest, TheServerKeyIsRequiredAndOnlyPostIsAllowed) {
  EXPECT_EQ(post("/realtime/disconnect", R"({"user_id":"a"})", "nope").status, 401);
  HttpRequest get{"GET", "/realtime/disconnect", {}, "", false};
  HttpResponse out;
  routes.handle(get, "/realtime/disconnect", [&](HttpResponse r) { out = std::move(r); });
  EXPECT_EQ(out.status, 405);
  EXPECT_TRUE(applied.empty());
}

}  // namespace
}  // namespace realtime
