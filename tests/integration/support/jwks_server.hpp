#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace realtime::testing {

// An identity provider's key endpoint, for the jwk_url tests: an HTTPS server (Beast + Asio SSL)
// on a free port of 127.0.0.1 with a certificate for the name localhost (not the address), issued
// by a test CA that `openssl` makes in a temporary directory (removed with the server). It
// answers every GET with the document set last, and counts the requests. Stop() closes the port
// (connections are refused) and Restart() opens the same port again.
class JwksServer {
 public:
  explicit JwksServer(bool tls = true);
  ~JwksServer();
  JwksServer(const JwksServer&) = delete;
  JwksServer& operator=(const JwksServer&) = delete;

  // What the next requests get. Empty header values are left out.
  void Serve(std::string body, std::string cache_control = {}, std::string expires = {},
             int status = 200);
  // https://localhost:PORT/.well-known/jwks.json (http:// without TLS).
  std::string Url() const;
  // The PEM file of the CA that issued the server's certificate.
  std::string CaFile() const;
  std::uint16_t port() const;
  int Requests() const;
  // While held, requests are read and counted but never answered (a key server that hangs).
  void Hold(bool hold);

  void Stop();
  void Restart();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime::testing
