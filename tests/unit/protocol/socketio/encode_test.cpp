#include "protocol/socketio/encode.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

#include "protocol/socketio/engineio_packet.hpp"
#include "protocol/socketio/packet.hpp"

namespace realtime::socketio {
namespace {

namespace json = boost::json;

// An Engine.IO message decoded back into its Socket.IO packet.
SioPacket unwrap(std::string_view message) {
  auto eio = decode_eio_packet(message);
  if (!std::holds_alternative<EioPacket>(eio) ||
      std::get<EioPacket>(eio).type != EioPacketType::message) {
    ADD_FAILURE() << "not an Engine.IO message: " << message;
    return {};
  }
  auto sio = decode_sio_packet(std::get<EioPacket>(eio).data);
  if (auto* error = std::get_if<SioError>(&sio)) {
    ADD_FAILURE() << "does not decode (" << describe(*error) << "): " << message;
    return {};
  }
  return std::get<SioPacket>(std::move(sio));
}

TEST(SocketIoEncodeTest, Connect) {
  EXPECT_EQ(encode_connect("wZX3oN0bSVIhsaknAAAI"), R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})");
  EXPECT_EQ(connect_message("wZX3oN0bSVIhsaknAAAI"), R"(40{"sid":"wZX3oN0bSVIhsaknAAAI"})");
  EXPECT_EQ(unwrap(connect_message("a\"b")).data.at("sid").as_string(), "a\"b");
}

TEST(SocketIoEncodeTest, ConnectError) {
  EXPECT_EQ(encode_connect_error("/", "Not authorized"), R"(4{"message":"Not authorized"})");
  EXPECT_EQ(connect_error_message("/", "Not authorized"), R"(44{"message":"Not authorized"})");
  EXPECT_EQ(connect_error_message("", "x"), R"(44{"message":"x"})");
  EXPECT_EQ(connect_error_message("/admin", "Invalid namespace"),
            R"(44/admin,{"message":"Invalid namespace"})");
  EXPECT_EQ(connect_error_message("/", "m", R"({"a":[1]})"),
            R"(44{"message":"m","data":{"a":[1]}})");
}

TEST(SocketIoEncodeTest, Unauthorized) {
  const std::string text = unauthorized_message("token expired");
  EXPECT_EQ(text, R"(44{"message":"unauthorized","data":{"reason":"token expired"}})");
  const SioPacket p = unwrap(text);
  EXPECT_EQ(p.type, SioPacketType::connect_error);
  EXPECT_EQ(p.data.at("data").at("reason").as_string(), "token expired");
  EXPECT_EQ(unwrap(unauthorized_message("\"quoted\"\n")).data.at("data").at("reason").as_string(),
            "\"quoted\"\n");
}

TEST(SocketIoEncodeTest, InvalidNamespace) {
  const SioPacket p = unwrap(invalid_namespace_message("/admin"));
  EXPECT_EQ(p.type, SioPacketType::connect_error);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data.at("message").as_string(), "Invalid namespace");
}

TEST(SocketIoEncodeTest, Disconnect) {
  EXPECT_EQ(encode_disconnect(), "1");
  EXPECT_EQ(disconnect_message(), "41");
  EXPECT_EQ(unwrap(disconnect_message()).type, SioPacketType::disconnect);
}

TEST(SocketIoEncodeTest, EventWithRawArgs) {
  EXPECT_EQ(encode_event("hey", {"\"Jude\""}), R"(2["hey","Jude"])");
  EXPECT_EQ(event_message("hey", {"\"Jude\""}), R"(42["hey","Jude"])");
  EXPECT_EQ(event_message("e", {R"({"a":1})", "[1,2]", "null", "3.5"}),
            R"(42["e",{"a":1},[1,2],null,3.5])");
  EXPECT_EQ(event_message("e", {}), R"(42["e"])");
}

TEST(SocketIoEncodeTest, EventFromASpan) {
  const std::vector<std::string_view> args = {"1", "2"};
  EXPECT_EQ(event_message("e", args), R"(42["e",1,2])");
  EXPECT_EQ(encode_event("e", args), R"(2["e",1,2])");
}

TEST(SocketIoEncodeTest, EmptyArgIsNull) {
  EXPECT_EQ(event_message("e", {""}), R"(42["e",null])");
  EXPECT_EQ(ack_message(1, {""}), "431[null]");
}

TEST(SocketIoEncodeTest, EventNameIsEscaped) {
  const SioPacket p = unwrap(event_message("a\"b\\c\x01", {"1"}));
  EXPECT_EQ(p.event_name(), "a\"b\\c\x01");
}

TEST(SocketIoEncodeTest, Ack) {
  EXPECT_EQ(encode_ack(12, {}), "312[]");
  EXPECT_EQ(ack_message(12, {}), "4312[]");
  EXPECT_EQ(ack_message(0, {R"({"ok":true})"}), R"(430[{"ok":true}])");
  EXPECT_EQ(ack_message(max_ack_id, {"1", "2"}), "439007199254740991[1,2]");
  const std::vector<std::string_view> args = {"\"bar\""};
  EXPECT_EQ(encode_ack(13, args), R"(313["bar"])");
  EXPECT_EQ(ack_message(13, args), R"(4313["bar"])");
}

TEST(SocketIoEncodeTest, RoundTrips) {
  const SioPacket event = unwrap(event_message("chat", {R"({"text":"hi ☕"})", "7"}));
  EXPECT_EQ(event.type, SioPacketType::event);
  EXPECT_EQ(event.event_name(), "chat");
  EXPECT_EQ(event.arg(0)->at("text").as_string(), "hi ☕");
  EXPECT_EQ(event.arg(1)->as_int64(), 7);
  EXPECT_FALSE(event.ack_id);

  const SioPacket ack = unwrap(ack_message(42, {R"({"ok":true})"}));
  EXPECT_EQ(ack.type, SioPacketType::ack);
  EXPECT_EQ(*ack.ack_id, 42u);
  EXPECT_EQ(json::serialize(ack.data), R"([{"ok":true}])");

  const SioPacket connect = unwrap(connect_message("abc"));
  EXPECT_EQ(connect.type, SioPacketType::connect);
  EXPECT_EQ(connect.data.at("sid").as_string(), "abc");
}

}  // namespace
}  // namespace realtime::socketio
