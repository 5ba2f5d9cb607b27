// libFuzzer target: a message on a topic's Redis channel, which any service may PUBLISH. Input:
// the channel's topic on the first line, the payload after it. Checks that what is accepted is a
// valid event of that topic, and that encoding it again and decoding gives the same message
// (numbers within the parser's rounding, see fuzz_json.hpp), and that its v1 frame, sized before it
// is written, carries a header announcing exactly its payload and views of its name and data.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "broker/redis_payload.hpp"
#include "fuzz_json.hpp"
#include "fuzz_support.hpp"
#include "protocol/frame.hpp"
#include "protocol/topic.hpp"
#include "ws/frame_codec.hpp"

using namespace realtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::fields(fuzz::as_text(data, size), 2);
  const std::string_view topic = parts[0], payload = parts[1];
  if (!is_valid_topic(topic)) return 0;  // channels are named after topics we subscribed to
  std::string why;
  const auto message = decode_redis_payload(topic, payload, why);
  if (!message) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  FUZZ_CHECK(message->event.topic == topic);
  FUZZ_CHECK(is_valid_name(message->event.event, max_event_name_bytes));
  FUZZ_CHECK(message->ts_ms >= 0);

  const std::string again = encode_redis_payload(message->event, message->ts_ms);
  std::string why_again;
  const auto back = decode_redis_payload(topic, again, why_again);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->event.event == message->event.event);
  FUZZ_CHECK(fuzz::same_json_text(back->event.data, message->event.data));
  FUZZ_CHECK(back->event.exclude_connection == message->event.exclude_connection);
  FUZZ_CHECK(back->ts_ms == message->ts_ms);

  const PublishedEvent& e = message->event;
  const EventFrame frame =
      encode_event_frame(e.topic, e.event, e.data, message->ts_ms, message->offset);
  const std::string_view body = ws::server_frame_payload(*frame.wire);
  const std::size_t header = body.size() < 126 ? 2 : body.size() < 65536 ? 4 : 10;
  FUZZ_CHECK(header + body.size() == frame.wire->size());
  FUZZ_CHECK(frame.event == e.event && frame.data == e.data);
  boost::json::error_code ec;
  const boost::json::value parsed = boost::json::parse(body, ec);
  FUZZ_CHECK(!ec && parsed.is_object());
  FUZZ_CHECK(parsed.as_object().at("topic").as_string() == e.topic);
  FUZZ_CHECK(parsed.as_object().at("event").as_string() == e.event);
  return 0;
}
