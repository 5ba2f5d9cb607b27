#include "protocol/socketio/packet.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

namespace realtime::socketio {
namespace {

namespace json = boost::json;

SioPacket decoded(std::string_view text) {
  auto result = decode_sio_packet(text);
  if (auto* error = std::get_if<SioError>(&result)) {
    ADD_FAILURE() << "refused " << text << ": " << describe(*error);
    return {};
  }
  return std::get<SioPacket>(std::move(result));
}

SioError refused(std::string_view text) {
  auto result = decode_sio_packet(text);
  if (auto* error = std::get_if<SioError>(&result)) return *error;
  ADD_FAILURE() << "accepted " << text;
  return SioError::empty;
}

// ---------------------------------------------------------------------------------------------
// CONNECT

TEST(SocketIoPacketTest, ConnectWithoutPayload) {
  const SioPacket p = decoded("0");
  EXPECT_EQ(p.type, SioPacketType::connect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.ack_id);
  EXPECT_TRUE(p.data.is_null());
}

TEST(SocketIoPacketTest, ConnectWithAuth) {
  const SioPacket p = decoded(R"(0{"token":"abc","device":{"type":"web"}})");
  EXPECT_EQ(p.type, SioPacketType::connect);
  EXPECT_EQ(p.nsp, "/");
  ASSERT_TRUE(p.data.is_object());
  EXPECT_EQ(p.data.at("token").as_string(), "abc");
  EXPECT_EQ(p.data.at("device").at("type").as_string(), "web");
}

TEST(SocketIoPacketTest, ConnectToANamespace) {
  EXPECT_EQ(decoded("0/admin,").nsp, "/admin");
  EXPECT_EQ(decoded("0/admin").nsp, "/admin");  // the namespace may end the packet
  const SioPacket p = decoded(R"(0/admin,{"token":"123"})");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data.at("token").as_string(), "123");
}

TEST(SocketIoPacketTest, ExplicitMainNamespaceIsTheMainNamespace) {
  EXPECT_EQ(decoded("0/,").nsp, "/");
  EXPECT_EQ(decoded("0/").nsp, "/");
}

TEST(SocketIoPacketTest, ConnectPayloadMustBeAnObject) {
  for (std::string_view text : {R"(0["token"])", R"(0"token")", "0 1", "0null", "0true"}) {
    EXPECT_EQ(refused(text), SioError::bad_payload) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// DISCONNECT

TEST(SocketIoPacketTest, Disconnect) {
  const SioPacket p = decoded("1");
  EXPECT_EQ(p.type, SioPacketType::disconnect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_EQ(decoded("1/admin,").nsp, "/admin");
}

TEST(SocketIoPacketTest, DisconnectCarriesNoPayload) {
  EXPECT_EQ(refused("1{}"), SioError::bad_payload);
  EXPECT_EQ(refused("1[]"), SioError::bad_payload);
}

// ---------------------------------------------------------------------------------------------
// EVENT

TEST(SocketIoPacketTest, Event) {
  const SioPacket p = decoded(R"(2["hello","Jude",{"n":1}])");
  EXPECT_EQ(p.type, SioPacketType::event);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.ack_id);
  EXPECT_EQ(p.event_name(), "hello");
  EXPECT_EQ(p.arg_count(), 2u);
  EXPECT_EQ(p.arg(0)->as_string(), "Jude");
  EXPECT_EQ(p.arg(1)->at("n").as_int64(), 1);
  EXPECT_EQ(p.arg(2), nullptr);
}

TEST(SocketIoPacketTest, EventWithoutArguments) {
  const SioPacket p = decoded(R"(2["ping"])");
  EXPECT_EQ(p.event_name(), "ping");
  EXPECT_EQ(p.arg_count(), 0u);
  EXPECT_EQ(p.arg(0), nullptr);
}

TEST(SocketIoPacketTest, EventWithAckId) {
  const SioPacket p = decoded(R"(212["foo"])");
  EXPECT_EQ(p.type, SioPacketType::event);
  ASSERT_TRUE(p.ack_id);
  EXPECT_EQ(*p.ack_id, 12u);
  EXPECT_EQ(p.event_name(), "foo");
}

TEST(SocketIoPacketTest, EventWithAckIdZero) { EXPECT_EQ(*decoded(R"(20["x"])").ack_id, 0u); }

TEST(SocketIoPacketTest, EventInANamespaceWithAckId) {
  const SioPacket p = decoded(R"(2/admin,1["tellme"])");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.ack_id, 1u);
  EXPECT_EQ(p.event_name(), "tellme");
}

TEST(SocketIoPacketTest, EventNameMayBeAnyString) {
  EXPECT_EQ(decoded(R"(2["chat message"])").event_name(), "chat message");
  EXPECT_EQ(decoded(R"(2["caf\u00e9 ☕"])").event_name(), "café ☕");
  EXPECT_EQ(decoded(R"(2[""])").event_name(), "");
}

TEST(SocketIoPacketTest, EventPayloadMustBeANonEmptyArrayStartingWithAString) {
  for (std::string_view text : {"2", R"(2{"a":1})", "2[]", "2[1]", R"(2[null,"x"])", R"(2[["x"]])",
                                R"(2"x")", "21", "2/admin,"}) {
    EXPECT_EQ(refused(text), SioError::bad_payload) << text;
  }
}

TEST(SocketIoPacketTest, ReservedEventNamesAreRefused) {
  for (std::string_view name : {"connect", "connect_error", "disconnect", "disconnecting",
                                "newListener", "removeListener"}) {
    EXPECT_EQ(refused("2[\"" + std::string(name) + "\"]"), SioError::bad_payload) << name;
  }
  EXPECT_EQ(decoded(R"(2["connected"])").event_name(), "connected");
}

// ---------------------------------------------------------------------------------------------
// ACK

TEST(SocketIoPacketTest, Ack) {
  const SioPacket p = decoded(R"(313["bar"])");
  EXPECT_EQ(p.type, SioPacketType::ack);
  EXPECT_EQ(*p.ack_id, 13u);
  EXPECT_EQ(json::serialize(p.data), R"(["bar"])");
  EXPECT_EQ(*decoded("35[]").ack_id, 5u);
  EXPECT_EQ(decoded("3/admin,13[\"bar\"]").nsp, "/admin");
}

TEST(SocketIoPacketTest, AckNeedsAnIdAndAnArray) {
  EXPECT_EQ(refused(R"(3["bar"])"), SioError::bad_ack_id);
  EXPECT_EQ(refused("3"), SioError::bad_ack_id);
  EXPECT_EQ(refused("31"), SioError::bad_payload);
  EXPECT_EQ(refused(R"(31{"a":1})"), SioError::bad_payload);
}

// ---------------------------------------------------------------------------------------------
// CONNECT_ERROR (decoded for completeness; a client never sends one)

TEST(SocketIoPacketTest, ConnectError) {
  EXPECT_EQ(decoded(R"(4{"message":"Not authorized"})").type, SioPacketType::connect_error);
  EXPECT_EQ(decoded(R"(4"text")").type, SioPacketType::connect_error);
  EXPECT_EQ(refused("4"), SioError::bad_payload);
  EXPECT_EQ(refused("4[1]"), SioError::bad_payload);
}

// ---------------------------------------------------------------------------------------------
// Binary, unknown, malformed

TEST(SocketIoPacketTest, BinaryPacketsAreRefused) {
  EXPECT_EQ(refused(R"(51-["baz",{"_placeholder":true,"num":0}])"), SioError::binary);
  EXPECT_EQ(refused(R"(61-15["bar",{"_placeholder":true,"num":0}])"), SioError::binary);
  EXPECT_EQ(refused("5"), SioError::binary);
  EXPECT_EQ(refused("6"), SioError::binary);
  EXPECT_EQ(describe(SioError::binary), "binary attachments are not supported");
}

TEST(SocketIoPacketTest, EmptyIsRefused) { EXPECT_EQ(refused(""), SioError::empty); }

TEST(SocketIoPacketTest, UnknownTypesAreRefused) {
  for (std::string_view text : {"7", "8[\"x\"]", "9", "a", "[\"x\"]", " 2[\"x\"]", "{}"}) {
    EXPECT_EQ(refused(text), SioError::unknown_type) << text;
  }
}

TEST(SocketIoPacketTest, BadNamespacesAreRefused) {
  EXPECT_EQ(refused("0/" + std::string(max_namespace_bytes, 'a') + ","), SioError::bad_namespace);
  EXPECT_EQ(decoded("0/" + std::string(max_namespace_bytes - 1, 'a') + ",").nsp.size(),
            max_namespace_bytes);
  EXPECT_EQ(refused("0/ad min,"), SioError::bad_namespace);
  EXPECT_EQ(refused("0/ad\x1emin,"), SioError::bad_namespace);
  EXPECT_EQ(refused("0/ad\nmin,"), SioError::bad_namespace);
  EXPECT_EQ(refused("0/caf\xc3\xa9,"), SioError::bad_namespace);
}

TEST(SocketIoPacketTest, AckIdBounds) {
  EXPECT_EQ(*decoded(R"(29007199254740991["x"])").ack_id, max_ack_id);
  EXPECT_EQ(refused(R"(29007199254740992["x"])"), SioError::bad_ack_id);
  EXPECT_EQ(refused(R"(299999999999999999["x"])"), SioError::bad_ack_id);
  // Digits enough to overflow 64 bits stop at the digit bound.
  EXPECT_EQ(refused("2" + std::string(40, '9') + "[\"x\"]"), SioError::bad_ack_id);
  EXPECT_EQ(refused("2" + std::string(100000, '1') + "[\"x\"]"), SioError::bad_ack_id);
  // Leading zeros are digits like any other (the reference parser reads Number("007")).
  EXPECT_EQ(*decoded(R"(2007["x"])").ack_id, 7u);
}

TEST(SocketIoPacketTest, AckIdOnlyOnEventAndAck) {
  EXPECT_EQ(refused(R"(01{"token":"x"})"), SioError::bad_ack_id);
  EXPECT_EQ(refused("11"), SioError::bad_ack_id);
  EXPECT_EQ(refused(R"(41{"message":"x"})"), SioError::bad_ack_id);
}

TEST(SocketIoPacketTest, JunkAfterTheAckIdIsRefused) {
  EXPECT_EQ(refused(R"(21x["a"])"), SioError::invalid_json);
  EXPECT_EQ(refused(R"(21-["a"])"), SioError::invalid_json);
  EXPECT_EQ(refused("21,[\"a\"]"), SioError::invalid_json);
}

TEST(SocketIoPacketTest, InvalidJsonIsRefused) {
  for (std::string_view text : {"2[\"a\"", "2[\"a\",]", "2[\"a\"]]", "2[\"a\"] x", "2['a']",
                                "2[\"a\" \"b\"]", "0{token:1}", "2[\"a\",NaN]"}) {
    EXPECT_EQ(refused(text), SioError::invalid_json) << text;
  }
}

TEST(SocketIoPacketTest, InvalidUtf8IsRefused) {
  EXPECT_EQ(refused("2[\"a\xff\"]"), SioError::invalid_json);
  EXPECT_EQ(refused("2[\"a\",\"\xc3\"]"), SioError::invalid_json);
  EXPECT_EQ(refused("2[\"\xed\xa0\x80\"]"), SioError::invalid_json);  // a UTF-16 surrogate
}

TEST(SocketIoPacketTest, DeepNestingIsRefusedNotOverflowed) {
  const std::string deep = "2[\"a\"," + std::string(100000, '[') + std::string(100000, ']') + "]";
  EXPECT_EQ(refused(deep), SioError::invalid_json);
}

TEST(SocketIoPacketTest, EveryErrorIsDescribed) {
  for (int e = 0; e <= static_cast<int>(SioError::bad_payload); ++e) {
    EXPECT_FALSE(describe(static_cast<SioError>(e)).empty());
  }
}

TEST(SocketIoPacketTest, EventAccessorsOnAPacketWithoutArray) {
  const SioPacket p = decoded(R"(0{"token":"x"})");
  EXPECT_EQ(p.event_name(), "");
  EXPECT_EQ(p.arg_count(), 0u);
  EXPECT_EQ(p.arg(0), nullptr);
}

}  // namespace
}  // namespace realtime::socketio
