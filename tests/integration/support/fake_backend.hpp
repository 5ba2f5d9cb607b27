#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "support/http_client.hpp"

namespace realtime::testing {

// A backend the server calls (a Hasura GraphQL endpoint, an authorization proxy): an HTTP/1.1
// server on 127.0.0.1 and a free port, in a thread of its own, answering each request with what
// the test's handler says, and recording every request it got. Keep-alive like a real backend.
class FakeBackend {
 public:
  struct Request {
    std::string method;
    std::string target;
    Headers headers;  // names in lower case
    std::string body;
    std::string Header(std::string_view name) const;
  };
  struct Answer {
    int status = 200;
    std::string body;
    std::chrono::milliseconds delay{0};  // wait this long before answering
  };
  using Handler = std::function<Answer(const Request&)>;

  explicit FakeBackend(Handler handler);
  ~FakeBackend();
  FakeBackend(const FakeBackend&) = delete;
  FakeBackend& operator=(const FakeBackend&) = delete;

  std::uint16_t port() const { return port_; }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  void SetHandler(Handler handler);
  std::vector<Request> Requests() const;
  std::size_t RequestCount() const;
  // Stops listening and drops every connection: the backend is "down" (connection refused).
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace realtime::testing
