// libFuzzer target: a client's text frame -> ClientMessage (protocol v1). Checks that whatever
// is accepted keeps the protocol's rules (valid topic, event and thread names, an id that is a
// JSON string or number, data that is JSON) and that refusals say why.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "fuzz_support.hpp"
#include "protocol/client_message.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/topic.hpp"

namespace json = boost::json;
using namespace realtime;

namespace {

bool is_json(std::string_view text, json::value* out = nullptr) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (!ec && out != nullptr) *out = std::move(v);
  return !ec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto result = parse_client_message(fuzz::as_text(data, size));
  if (const auto* err = std::get_if<ClientMessageError>(&result)) {
    FUZZ_CHECK(!err->message.empty());
    json::value id;
    FUZZ_CHECK(err->id.empty() || (is_json(err->id, &id) && (id.is_string() || id.is_number())));
    return 0;
  }
  const ClientMessage& m = std::get<ClientMessage>(result);
  json::value id;
  FUZZ_CHECK(m.id.empty() || (is_json(m.id, &id) && (id.is_string() || id.is_number())));
  FUZZ_CHECK(!id.is_string() || id.get_string().size() <= 128);
  switch (m.type) {
    case ClientMessageType::subscribe:
    case ClientMessageType::unsubscribe:
      FUZZ_CHECK(is_valid_topic(m.topic));
      break;
    case ClientMessageType::publish:
      FUZZ_CHECK(is_valid_topic(m.topic) && !is_reserved_topic(m.topic));
      FUZZ_CHECK(is_valid_name(m.event, max_event_name_bytes));
      FUZZ_CHECK(is_json(m.data));
      break;
    case ClientMessageType::presence:
      FUZZ_CHECK(m.status != PresenceStatus::offline);
      break;
    case ClientMessageType::typing:
      FUZZ_CHECK(is_valid_topic(m.topic));
      FUZZ_CHECK(m.thread_id.empty() || is_valid_name(m.thread_id, 200));
      break;
    case ClientMessageType::refresh:
      FUZZ_CHECK(!m.token.empty() && m.token.size() <= 8192);
      break;
    case ClientMessageType::ping:
      break;
  }
  return 0;
}
