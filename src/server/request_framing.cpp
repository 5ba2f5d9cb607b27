#include "server/request_framing.hpp"

#include <cctype>

#include "util/http_text.hpp"

namespace realtime {
namespace {

bool is_chunked(std::string_view value) {
  value = trim_ows(value);
  constexpr std::string_view chunked = "chunked";
  if (value.size() != chunked.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != chunked[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> ambiguous_framing(const HttpRequest& request) {
  int transfer_encodings = 0, content_lengths = 0;
  bool chunked = true;
  for (const auto& [name, value] : request.headers) {
    if (name == "transfer-encoding") {
      ++transfer_encodings;
      chunked = chunked && is_chunked(value);
    } else if (name == "content-length") {
      ++content_lengths;
    }
  }
  if (transfer_encodings == 0) return std::nullopt;
  if (transfer_encodings > 1) return "more than one Transfer-Encoding field";
  if (!chunked) return "Transfer-Encoding other than chunked";
  if (content_lengths > 0) return "both Transfer-Encoding and Content-Length";
  return std::nullopt;
}

}  // namespace realtime
