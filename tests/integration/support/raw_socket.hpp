#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "support/http_client.hpp"

namespace realtime::testing {

// A plain TCP connection to 127.0.0.1:port for bytes no client library would send (partial
// requests, smuggling shapes, silence). Blocking, every read bounded by a deadline; throws
// std::runtime_error on connect and send errors.
class RawSocket {
 public:
  // `receive_buffer`: SO_RCVBUF before connecting, 0 for the kernel's default.
  explicit RawSocket(std::uint16_t port, int receive_buffer = 0);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  void Send(std::string_view bytes);
  // False instead of throwing when the peer has gone (reset, broken pipe).
  bool TrySend(std::string_view bytes);

  struct Received {
    std::string bytes;
    bool closed = false;  // the peer closed or reset the connection
  };
  // Everything until the peer closes, or until `timeout` passes (closed = false then).
  Received ReadUntilClosed(std::chrono::milliseconds timeout);
  // What arrives until `done(bytes so far)` holds, the peer closes, or `timeout` passes.
  Received ReadUntil(const std::function<bool(std::string_view)>& done,
                     std::chrono::milliseconds timeout);
  // Whether the peer closed or reset the connection (without waiting).
  bool PeerClosed();
  void Close();

 private:
  int fd_ = -1;
};

// The HTTP/1.1 responses in `bytes`, in order (a truncated last one is left out).
std::vector<HttpResponse> ParseHttpResponses(std::string_view bytes);

// The request line and headers of an upgrade to /realtime/connect (RFC 6455's sample key),
// followed by `extra_headers` (each ending in \r\n) and the blank line.
std::string UpgradeRequest(std::string_view target, std::string_view extra_headers = {});

// A masked client frame with FIN set (payload < 126 bytes).
std::string ClientFrame(unsigned char opcode, std::string_view payload);

}  // namespace realtime::testing
