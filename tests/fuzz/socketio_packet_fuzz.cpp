// libFuzzer target: Socket.IO packets, the dialect mapping, its replies, and the outgoing
// encoders fed with the same bytes (tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "protocol/socketio/dialect.hpp"
#include "protocol/socketio/encode.hpp"
#include "protocol/socketio/outgoing.hpp"
#include "protocol/socketio/packet.hpp"
#include "protocol/socketio/replies.hpp"

using namespace realtime;
using namespace realtime::socketio;

namespace {

// Whatever the codec sends must be one valid Engine.IO message holding a Socket.IO packet that
// decodes, so a client's parser never drops the connection because of us.
void check_sent(const std::string& text) {
  if (text.empty()) return;
  if (text.size() < 2 || text[0] != '4') std::abort();
  if (!std::holds_alternative<SioPacket>(decode_sio_packet(std::string_view(text).substr(1)))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto decoded = decode_sio_packet(text);
  if (auto* packet = std::get_if<SioPacket>(&decoded)) {
    if (packet->ack_id && *packet->ack_id > max_ack_id) std::abort();
    if (packet->nsp.empty() || packet->nsp.front() != '/') std::abort();
    if (packet->type == SioPacketType::event) {
      // The shape the decoder promises.
      const auto* array = packet->data.if_array();
      if (array == nullptr || array->empty() || !array->front().is_string()) std::abort();
      for (const DialectOptions options : {DialectOptions{true}, DialectOptions{false}}) {
        auto outcome = map_event(*packet, options);
        if (auto* send = std::get_if<Send>(&outcome)) check_sent(send->text);
        if (auto* cmd = std::get_if<Command>(&outcome)) {
          check_sent(reply_ok(cmd->reply));
          check_sent(reply_subscribed(cmd->reply, 3));
          check_sent(reply_error(cmd->reply, ErrorCode::forbidden, "no"));
          if (cmd->message.type == ClientMessageType::publish) {
            boost::json::error_code ec;
            (void)boost::json::parse(cmd->message.data, ec);
            if (ec) std::abort();
          }
        }
        if (auto* query = std::get_if<PresenceQuery>(&outcome)) {
          if (query->user_ids.empty() || query->user_ids.size() > max_presence_query_users) {
            std::abort();
          }
          std::vector<PresenceEntry> entries;
          for (const auto& id : query->user_ids) entries.push_back({id, PresenceStatus::away, 0});
          check_sent(reply_presences(query->reply, entries));
        }
      }
    }
    if (packet->type == SioPacketType::connect && packet->nsp != main_namespace) {
      check_sent(invalid_namespace_message(packet->nsp));
    }
  }

  // The outgoing side with the bytes as lifecycle data: it must fall back, never break.
  if (boost::json::error_code ec; (boost::json::parse(text, ec), !ec)) {
    for (std::string_view event : {"realtime.typing", "realtime.presence.changed", "e"}) {
      check_sent(encode_published_event("channel:c1", event, text, 1, DialectOptions{true}));
    }
  }
  return 0;
}
