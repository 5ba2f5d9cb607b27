#include "auth/checks/check_answers.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace realtime {
namespace {

namespace json = boost::json;

CheckRequest hasura_request(std::string query, CheckParams params) {
  CheckRequest r;
  r.spec.name = "member";
  r.spec.kind = CheckSpec::Kind::hasura;
  r.spec.text = std::move(query);
  r.spec.variables = named_parameters(r.spec.text);
  r.params = std::move(params);
  r.subject = {"alice", "user", {}};
  r.topic = "channel:42";
  return r;
}

TEST(HasuraRequestBodyTest, SendsTheQueryAndOnlyTheDeclaredVariables) {
  const auto r = hasura_request(
      "query($channel_id: uuid!) { m(where: {channel_id: {_eq: $channel_id}}) { user_id } }",
      {{"channel_id", "0e7f"}, {"user_id", "alice"}, {"role", "user"}, {"topic", "channel:0e7f"}});
  const json::value body = json::parse(hasura_request_body(r));
  EXPECT_EQ(body.at("query").as_string(), r.spec.text);
  EXPECT_EQ(json::serialize(body.at("variables")), R"({"channel_id":"0e7f"})");
}

TEST(HasuraRequestBodyTest, NumericAndBooleanTypesGetJsonNumbersAndBooleans) {
  const auto r = hasura_request(
      "query($id: Int!, $big: bigint, $f: Float, $b: Boolean!, $s: String) { t(id: $id) { id } }",
      {{"id", "42"}, {"big", "9007199254740993"}, {"f", "1.5"}, {"b", "true"}, {"s", "42"}});
  const json::value vars = json::parse(hasura_request_body(r)).at("variables");
  EXPECT_EQ(vars.at("id"), json::value(42));
  EXPECT_EQ(vars.at("big"), json::value(9007199254740993LL));
  EXPECT_EQ(vars.at("f"), json::value(1.5));
  EXPECT_EQ(vars.at("b"), json::value(true));
  EXPECT_EQ(vars.at("s"), json::value("42"));
}

TEST(HasuraRequestBodyTest, AValueThatIsNotANumberStaysAString) {
  const auto r = hasura_request("query($id: Int!) { t(id: $id) { id } }", {{"id", "4x2"}});
  EXPECT_EQ(json::parse(hasura_request_body(r)).at("variables").at("id"), json::value("4x2"));
}

TEST(HasuraAnswerTest, ARowAllows) {
  EXPECT_EQ(hasura_answer(200, R"({"data":{"m":[{"user_id":"alice"}]}})").outcome,
            CheckOutcome::allow);
  EXPECT_EQ(hasura_answer(200, R"({"data":{"m_by_pk":{"id":1}}})").outcome, CheckOutcome::allow);
}

TEST(HasuraAnswerTest, NullOrEmptyListDenies) {
  EXPECT_EQ(hasura_answer(200, R"({"data":{"m":[]}})").outcome, CheckOutcome::deny);
  EXPECT_EQ(hasura_answer(200, R"({"data":{"m_by_pk":null}})").outcome, CheckOutcome::deny);
  EXPECT_EQ(hasura_answer(200, R"({"data":{}})").outcome, CheckOutcome::deny);
}

TEST(HasuraAnswerTest, OnlyTheFirstRootFieldCounts) {
  EXPECT_EQ(hasura_answer(200, R"({"data":{"a":[],"b":[1]}})").outcome, CheckOutcome::deny);
  EXPECT_EQ(hasura_answer(200, R"({"data":{"a":[1],"b":null}})").outcome, CheckOutcome::allow);
}

TEST(HasuraAnswerTest, GraphQLErrorsDenyWithTheMessage) {
  const auto r = hasura_answer(
      200, R"({"errors":[{"message":"field 'm' not found in type: 'query_root'"}]})");
  EXPECT_EQ(r.outcome, CheckOutcome::deny);
  EXPECT_NE(r.message.find("field 'm' not found"), std::string::npos) << r.message;
}

TEST(HasuraAnswerTest, ServerErrorsAndGarbageAreUnavailable) {
  EXPECT_EQ(hasura_answer(500, "").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(hasura_answer(503, R"({"data":{"m":[1]}})").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(hasura_answer(200, "<html>").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(hasura_answer(200, R"({"data":[1]})").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(hasura_answer(200, "[]").outcome, CheckOutcome::unavailable);
}

TEST(HasuraAnswerTest, OtherClientErrorsDeny) {
  EXPECT_EQ(hasura_answer(401, R"({"message":"invalid x-hasura-admin-secret"})").outcome,
            CheckOutcome::deny);
}

TEST(ProxyRequestBodyTest, CarriesWhoWhatWhereAndTheCaptures) {
  CheckRequest r;
  r.params = {{"channel_id", "42"}, {"user_id", "alice"}, {"role", "user"}, {"topic", "channel:42"}};
  r.subject = {"alice", "user", {}};
  r.topic = "channel:42";
  r.action = TopicAction::typing;
  const json::value body = json::parse(proxy_request_body(r));
  EXPECT_EQ(json::serialize(body),
            R"({"user_id":"alice","role":"user","topic":"channel:42","action":"typing",)"
            R"("params":{"channel_id":"42"}})");
}

TEST(ProxyAnswerTest, AllowFalseAnd403Deny) {
  EXPECT_EQ(proxy_answer(200, R"({"allow":true})").outcome, CheckOutcome::allow);
  EXPECT_EQ(proxy_answer(200, R"({"allow":false,"reason":"not a member"})").message,
            "proxy denied: not a member");
  EXPECT_EQ(proxy_answer(403, "").outcome, CheckOutcome::deny);
  EXPECT_EQ(proxy_answer(404, "").outcome, CheckOutcome::deny);
}

TEST(ProxyAnswerTest, ServerErrorsAndUnclearAnswersAreUnavailable) {
  EXPECT_EQ(proxy_answer(500, "").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(proxy_answer(502, R"({"allow":true})").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(proxy_answer(200, "ok").outcome, CheckOutcome::unavailable);
  EXPECT_EQ(proxy_answer(200, R"({"allow":"yes"})").outcome, CheckOutcome::unavailable);
}

}  // namespace
}  // namespace realtime
