#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <variant>

namespace realtime {

// One HTTP GET to a server we trust only through its certificate (the jwk_url key set; later the
// HTTP checks). No redirects, no proxy, no compression: one request, one response.
struct HttpFetchOptions {
  std::chrono::milliseconds timeout{10000};  // resolve + connect + TLS + request + response
  std::size_t body_limit = 1024 * 1024;
};

struct HttpFetchResponse {
  int status = 0;
  std::string cache_control;  // empty when absent
  std::string expires;
  std::string date;
  std::string body;
};

// A response, or why there is none (a sentence for the logs and /health).
using HttpFetchResult = std::variant<HttpFetchResponse, std::string>;

// A TLS client context that verifies peers against `ca_file` (PEM), or against the system's CAs
// (OpenSSL's default paths, which honour SSL_CERT_FILE and SSL_CERT_DIR) when it is empty.
// Throws std::runtime_error naming the file when it holds no usable certificate.
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const std::string& ca_file);

// GETs `url` (http:// or https://) on `io`. For https the certificate chain and the host name are
// verified with `tls`. `done` runs exactly once, on io's thread.
void http_get(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
              const std::string& url, const HttpFetchOptions& options,
              std::function<void(HttpFetchResult)> done);

}  // namespace realtime
