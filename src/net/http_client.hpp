#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace realtime {

struct HttpClientRequest {
  std::string method = "POST";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{2000};
};

struct HttpClientResponse {
  // 0 when no response came (the error says why: unreachable, timed out, TLS, malformed).
  int status = 0;
  std::string body;
  std::string error;
};

// An HTTP/1.1 client for the backends the server asks (Hasura, an authorization proxy): keeps
// idle connections per origin for reuse, at most `max_per_origin` open at once (more requests
// wait their turn), TLS with the certificate and host name verified. Every request ends within
// its timeout. Runs on one executor (one thread): call request() from anywhere, the callback
// runs on that executor.
class HttpClient {
 public:
  using Callback = std::function<void(HttpClientResponse)>;

  explicit HttpClient(boost::asio::any_io_executor executor, std::size_t max_per_origin = 32);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void request(HttpClientRequest request, Callback done);

  struct Origin;
  struct Exchange;
  class Connection;

 private:
  void start(std::shared_ptr<Exchange> exchange);
  void on_done(const std::shared_ptr<Connection>& connection, bool reusable);

  boost::asio::any_io_executor executor_;
  std::size_t max_per_origin_;
  boost::asio::ssl::context tls_;
  std::map<std::string, std::unique_ptr<Origin>> origins_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace realtime
