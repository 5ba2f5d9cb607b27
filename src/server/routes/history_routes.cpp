#include "server/routes/history_routes.hpp"

#include <boost/url/parse_query.hpp>

#include <charconv>
#include <optional>

#include "broker/history.hpp"
#include "protocol/frame.hpp"
#include "server/routes/route_helpers.hpp"

namespace realtime {
namespace {

std::optional<std::uint64_t> whole_number(std::string_view text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

// The JSON of a v1 frame as it goes on the wire: past the WebSocket header.
std::string_view frame_json(const std::string& wire) {
  if (wire.size() < 2) return {};
  const unsigned length = static_cast<unsigned char>(wire[1]) & 0x7f;
  const std::size_t header = length < 126 ? 2 : length == 126 ? 4 : 10;
  return std::string_view(wire).substr(std::min(header, wire.size()));
}

}  // namespace

std::string encode_history(std::string_view topic, const HistoryResult& result) {
  std::string out = "{\"topic\":";
  append_json_string(out, topic);
  out += ",\"epoch\":";
  append_json_string(out, result.epoch);
  out += ",\"offset\":";
  out += std::to_string(result.offset);
  out += ",\"events\":[";
  for (std::size_t i = 0; i < result.events->size(); ++i) {
    if (i > 0) out += ',';
    out += frame_json(*(*result.events)[i].frame);
  }
  out += "]}";
  return out;
}

void HistoryRoutes::read(const std::string& topic, std::string_view query, const Respond& respond) {
  std::uint64_t since = 0;
  std::size_t limit = default_limit;
  auto params = boost::urls::parse_query(query);
  if (!params) {
    return respond(error_response(metrics_, 400, ErrorCode::bad_request, "malformed query"));
  }
  for (const auto& p : *params) {
    const auto n = whole_number(p.value);
    if (p.key == "since") {
      if (!n) {
        return respond(error_response(metrics_, 400, ErrorCode::bad_request,
                                      "since must be an offset (a whole number >= 0)"));
      }
      since = *n;
    } else if (p.key == "limit") {
      if (!n || *n < 1 || *n > max_limit) {
        return respond(error_response(metrics_, 400, ErrorCode::bad_request,
                                      "limit must be a whole number 1-1000"));
      }
      limit = static_cast<std::size_t>(*n);
    }
  }
  const auto limits = policy_ != nullptr ? policy_->limits_for(topic) : std::nullopt;
  if (!limits) {
    return respond({404,
                    "application/json",
                    encode_http_error("not_found", "topic " + topic +
                                                       " keeps no history (a rule's \"history\" "
                                                       "or REALTIME_HISTORY_SIZE gives it one)"),
                    {}});
  }
  broker_.read_history(
      topic, *limits, {since, limit}, [this, topic, respond](HistoryResult result) {
        if (!result.ok) {
          return respond(error_response(metrics_, 503, ErrorCode::unavailable,
                                        "cannot read the history now; try again later"));
        }
        respond({200, "application/json", encode_history(topic, result), {}});
      });
}

}  // namespace realtime
