#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace realtime {

// An HTTP request as the API sees it: no sockets, no Beast, so every route is unit-testable.
struct HttpRequest {
  std::string method;                                        // upper case: GET, POST, OPTIONS, ...
  std::string target;                                        // origin-form: /path?query
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool from_loopback = false;

  std::string_view header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers a request exactly once, from any thread.
using Respond = std::function<void(HttpResponse)>;

}  // namespace realtime
