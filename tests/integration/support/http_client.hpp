#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace realtime::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::chrono::seconds kHttpTimeout{60};

struct HttpResponse {
  int status = 0;
  Headers headers;  // names in lower case
  std::string body;

  // The value of a header (case-insensitive name), empty when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // The body parsed as JSON; throws when it is not JSON.
  boost::json::value Json() const;
};

// A keep-alive HTTP/1.1 connection to 127.0.0.1:port, for tests that send many requests.
// Reconnects when the server closed it. Every request has a deadline: a network error or no
// complete response within `timeout` throws, so a hung server fails the test instead of
// hanging it.
class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  HttpResponse Send(std::string_view method, std::string_view target, std::string body = {},
                    const Headers& headers = {}, std::chrono::milliseconds timeout = kHttpTimeout);
  // POST with Content-Type: application/json.
  HttpResponse PostJson(std::string_view target, std::string body, const Headers& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection (Connection: close).
HttpResponse SendHttp(std::uint16_t port, std::string_view method, std::string_view target,
                      std::string body = {}, const Headers& headers = {},
                      std::chrono::milliseconds timeout = kHttpTimeout);
HttpResponse HttpGet(std::uint16_t port, std::string_view target, const Headers& headers = {});
HttpResponse HttpPostJson(std::uint16_t port, std::string_view target, std::string body,
                          const Headers& headers = {});

}  // namespace realtime::testing
