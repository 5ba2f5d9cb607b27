#pragma once

#include <optional>
#include <string_view>

#include "server/http_types.hpp"

namespace realtime {

// Why a parsed request's framing is ambiguous (then it is refused and its connection closed),
// or nullopt. The parser already refuses Content-Length with chunked, conflicting
// Content-Lengths and bare LFs; what it lets through is a Transfer-Encoding other than exactly
// `chunked` (`chunked, identity`, `xchunked`, two fields), which it reads as "no body" while a
// proxy in front may read a chunked body: that body would then run here as a second request.
std::optional<std::string_view> ambiguous_framing(const HttpRequest& request);

}  // namespace realtime
