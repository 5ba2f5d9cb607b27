#include "protocol/socketio/connection_fsm.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protocol/socketio/replies.hpp"

namespace realtime::socketio {
namespace {

using State = ConnectionFsm::State;

template <typename T>
T expect(Action action, std::string_view what) {
  if (auto* a = std::get_if<T>(&action)) return std::move(*a);
  ADD_FAILURE() << "unexpected action (index " << action.index() << ") for " << what;
  return T{};
}

// A machine whose client is connected.
ConnectionFsm connected(DialectOptions options = {}) {
  ConnectionFsm fsm(options);
  expect<Authenticate>(fsm.on_text("40"), "40");
  EXPECT_EQ(fsm.accept("sock-1"), R"(40{"sid":"sock-1"})");
  return fsm;
}

TEST(SocketIoConnectionTest, ConnectAuthenticatesThenAccepts) {
  ConnectionFsm fsm;
  EXPECT_EQ(fsm.state(), State::awaiting_connect);
  const auto auth = expect<Authenticate>(
      fsm.on_text(R"(40{"token":"jwt.x.y","device":{"type":"web"}})"), "connect");
  EXPECT_EQ(auth.token, "jwt.x.y");
  EXPECT_EQ(auth.auth.at("device").at("type").as_string(), "web");
  EXPECT_EQ(fsm.state(), State::authenticating);
  EXPECT_EQ(fsm.accept("s1"), R"(40{"sid":"s1"})");
  EXPECT_EQ(fsm.state(), State::connected);
}

TEST(SocketIoConnectionTest, ConnectWithoutAuthHasNoToken) {
  ConnectionFsm fsm;
  const auto auth = expect<Authenticate>(fsm.on_text("40"), "40");
  EXPECT_EQ(auth.token, "");
  EXPECT_TRUE(auth.auth.empty());
  ConnectionFsm other;
  EXPECT_EQ(expect<Authenticate>(other.on_text(R"(40{"token":7})"), "number").token, "");
}

TEST(SocketIoConnectionTest, RefusalIsAConnectErrorAndTheClientMayRetry) {
  ConnectionFsm fsm;
  expect<Authenticate>(fsm.on_text(R"(40{"token":"bad"})"), "connect");
  EXPECT_EQ(fsm.refuse("token expired"),
            R"(44{"message":"unauthorized","data":{"reason":"token expired"}})");
  EXPECT_EQ(fsm.state(), State::awaiting_connect);
  expect<Authenticate>(fsm.on_text(R"(40{"token":"good"})"), "retry");
  EXPECT_EQ(fsm.accept("s"), R"(40{"sid":"s"})");
}

TEST(SocketIoConnectionTest, AcceptAndRefuseOnlyWhileAuthenticating) {
  ConnectionFsm fsm;
  EXPECT_EQ(fsm.accept("s"), "");
  EXPECT_EQ(fsm.refuse("r"), "");
  EXPECT_EQ(fsm.state(), State::awaiting_connect);
  ConnectionFsm c = connected();
  EXPECT_EQ(c.accept("again"), "");
  EXPECT_EQ(c.refuse("late"), "");
  EXPECT_EQ(c.state(), State::connected);
}

TEST(SocketIoConnectionTest, RepeatedConnectIsIgnored) {
  ConnectionFsm fsm;
  expect<Authenticate>(fsm.on_text("40"), "first");
  expect<Ignored>(fsm.on_text("40"), "while authenticating");
  fsm.accept("s");
  expect<Ignored>(fsm.on_text("40"), "while connected");
  EXPECT_EQ(fsm.state(), State::connected);
}

TEST(SocketIoConnectionTest, OtherNamespacesGetConnectError) {
  ConnectionFsm fsm;
  const auto send = expect<Send>(fsm.on_text("40/admin,"), "admin");
  EXPECT_EQ(send.text, R"(44/admin,{"message":"Invalid namespace"})");
  EXPECT_EQ(fsm.state(), State::awaiting_connect);
  // ...also once connected to the main one.
  ConnectionFsm c = connected();
  EXPECT_EQ(expect<Send>(c.on_text(R"(40/chat,{"token":"x"})"), "chat").text,
            R"(44/chat,{"message":"Invalid namespace"})");
  EXPECT_EQ(c.state(), State::connected);
}

TEST(SocketIoConnectionTest, PacketsForOtherNamespacesAreIgnored) {
  ConnectionFsm c = connected();
  expect<Ignored>(c.on_text(R"(42/admin,["subscribe","t"])"), "event");
  expect<Ignored>(c.on_text("41/admin,"), "disconnect");
  EXPECT_EQ(c.state(), State::connected);
}

TEST(SocketIoConnectionTest, EventBeforeConnectCloses) {
  ConnectionFsm fsm;
  EXPECT_EQ(expect<Close>(fsm.on_text(R"(42["subscribe","t"])"), "event").reason,
            CloseReason::protocol_error);
  EXPECT_EQ(fsm.state(), State::closed);
  ConnectionFsm authenticating;
  authenticating.on_text("40");
  expect<Close>(authenticating.on_text(R"(42["subscribe","t"])"), "event while authenticating");
}

TEST(SocketIoConnectionTest, EventsBecomeCommands) {
  ConnectionFsm c = connected();
  const auto cmd = expect<Command>(c.on_text(R"(421["subscribe","channel:1"])"), "subscribe");
  EXPECT_EQ(cmd.message.type, ClientMessageType::subscribe);
  EXPECT_EQ(cmd.message.topic, "channel:1");
  EXPECT_EQ(reply_subscribed(cmd.reply, 0), R"(431[{"ok":true}])");
  const auto q =
      expect<PresenceQuery>(c.on_text(R"(422["presence:get",{"userIds":["u1"]}])"), "get");
  EXPECT_EQ(q.user_ids.size(), 1u);
  EXPECT_EQ(expect<Send>(c.on_text(R"(423["ping",{"timestamp":5}])"), "ping").text,
            R"(433[{"timestamp":5}])");
  expect<Ignored>(c.on_text(R"(42["nobody:knows"])"), "unknown");
}

TEST(SocketIoConnectionTest, DialectOptionsApply) {
  ConnectionFsm c = connected({.nchat = false});
  expect<Ignored>(c.on_text(R"(42["channel:join",{"channelId":"c"}])"), "nchat off");
  EXPECT_FALSE(c.options().nchat);
}

TEST(SocketIoConnectionTest, HeartbeatPong) {
  ConnectionFsm c = connected();
  expect<HeartbeatPong>(c.on_text("3"), "pong");
  // A pong is fine before CONNECT too: the heartbeat starts with the open packet.
  ConnectionFsm fresh;
  expect<HeartbeatPong>(fresh.on_text("3"), "early pong");
}

TEST(SocketIoConnectionTest, ClientPingIsTheWrongDirection) {
  ConnectionFsm c = connected();
  EXPECT_EQ(expect<Close>(c.on_text("2"), "ping").reason, CloseReason::protocol_error);
  ConnectionFsm probe = connected();
  expect<Close>(probe.on_text("2probe"), "probe on the main transport");
}

TEST(SocketIoConnectionTest, UpgradeAndNoopAreIgnored) {
  ConnectionFsm c = connected();
  expect<Ignored>(c.on_text("5"), "upgrade");
  expect<Ignored>(c.on_text("6"), "noop");
  EXPECT_EQ(c.state(), State::connected);
}

TEST(SocketIoConnectionTest, CloseAndDisconnect) {
  ConnectionFsm a = connected();
  EXPECT_EQ(expect<Close>(a.on_text("1"), "close").reason, CloseReason::client_closed);
  EXPECT_EQ(a.state(), State::closed);
  ConnectionFsm b = connected();
  EXPECT_EQ(expect<Close>(b.on_text("41"), "disconnect").reason, CloseReason::client_disconnected);
}

TEST(SocketIoConnectionTest, NothingHappensAfterClose) {
  ConnectionFsm c = connected();
  c.on_text("1");
  expect<Ignored>(c.on_text(R"(42["subscribe","t"])"), "after close");
  expect<Ignored>(c.on_binary(), "binary after close");
  expect<Ignored>(c.on_text("40"), "connect after close");
  EXPECT_EQ(c.state(), State::closed);
}

TEST(SocketIoConnectionTest, BinaryIsRefused) {
  ConnectionFsm a = connected();
  EXPECT_EQ(expect<Close>(a.on_binary(), "frame").reason, CloseReason::binary);
  ConnectionFsm b = connected();
  EXPECT_EQ(expect<Close>(b.on_text("bAQIDBA=="), "base64").reason, CloseReason::binary);
  ConnectionFsm c = connected();
  const auto close = expect<Close>(c.on_text(R"(451-["x",{"_placeholder":true,"num":0}])"), "5");
  EXPECT_EQ(close.reason, CloseReason::binary);
  EXPECT_EQ(close.detail, "binary attachments are not supported");
}

TEST(SocketIoConnectionTest, MalformedPacketsClose) {
  for (std::string_view text : {"", "7", "0{}", "4", "47", "42", "42[]", "42[1]", "42{\"a\":1}",
                                "42[\"a\"", "42x[\"a\"]", "4299999999999999999[\"a\"]",
                                "42[\"disconnect\"]", "44{\"message\":\"x\"}", "42[\"a\xff\"]"}) {
    ConnectionFsm c = connected();
    EXPECT_EQ(expect<Close>(c.on_text(text), text).reason, CloseReason::protocol_error) << text;
    EXPECT_EQ(c.state(), State::closed);
  }
}

TEST(SocketIoConnectionTest, AcksFromTheClientAreIgnored) {
  ConnectionFsm c = connected();
  expect<Ignored>(c.on_text(R"(431["ok"])"), "ack");
}

TEST(SocketIoConnectionTest, ASampleSession) {
  // The protocol's sample session, client side, on the main namespace.
  ConnectionFsm fsm;
  expect<Authenticate>(fsm.on_text("40"), "connect");
  EXPECT_EQ(fsm.accept("wZX3oN0bSVIhsaknAAAI"), R"(40{"sid":"wZX3oN0bSVIhsaknAAAI"})");
  expect<Ignored>(fsm.on_text(R"(42["hello"])"), "hello");
  expect<Ignored>(fsm.on_text(R"(42["world"])"), "world");
  expect<HeartbeatPong>(fsm.on_text("3"), "pong");
  expect<Close>(fsm.on_text("1"), "close");
}

}  // namespace
}  // namespace realtime::socketio
