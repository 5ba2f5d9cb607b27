// libFuzzer target: the body of POST /realtime/publish, one event or a batch. Checks the limits
// and names of what is accepted, and that each accepted event survives the trip through its
// Redis payload (encode, then decode on the topic's channel) unchanged (numbers within the
// parser's rounding, see fuzz_json.hpp).
#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "broker/redis_payload.hpp"
#include "fuzz_json.hpp"
#include "fuzz_support.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/topic.hpp"

using namespace realtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const PublishLimits limits{.max_messages = 16, .max_message_bytes = 1024};
  const auto result = parse_publish_request(fuzz::as_text(data, size), limits);
  if (const auto* err = std::get_if<PublishRequestError>(&result)) {
    FUZZ_CHECK(!err->message.empty());
    FUZZ_CHECK(err->code == ErrorCode::bad_request || err->code == ErrorCode::message_too_large);
    return 0;
  }
  const auto& events = std::get<std::vector<PublishedEvent>>(result);
  FUZZ_CHECK(!events.empty() && events.size() <= limits.max_messages);
  for (const PublishedEvent& e : events) {
    FUZZ_CHECK(is_valid_topic(e.topic) && !is_reserved_topic(e.topic));
    FUZZ_CHECK(is_valid_name(e.event, max_event_name_bytes));
    FUZZ_CHECK(e.topic.size() + e.event.size() + e.data.size() <= limits.max_message_bytes);
    FUZZ_CHECK(e.exclude_connection.empty());
    boost::json::error_code ec;
    (void)boost::json::parse(e.data, ec);
    FUZZ_CHECK(!ec);

    std::string why;
    const auto back = decode_redis_payload(e.topic, encode_redis_payload(e, 1234), why);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->event.topic == e.topic && back->event.event == e.event);
    FUZZ_CHECK(fuzz::same_json_text(back->event.data, e.data) && back->ts_ms == 1234);
  }
  return 0;
}
