#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "support/http_client.hpp"

namespace realtime::testing {

// Long enough for a loaded machine under AddressSanitizer; a healthy server answers in
// milliseconds, so this only bounds how long a broken one can hang a test.
inline constexpr std::chrono::seconds kReadTimeout{20};

struct WsConnectOptions {
  std::string target = "/realtime/connect";
  Headers headers;                         // extra handshake headers, e.g. Origin
  std::optional<std::string> subprotocol;  // offered in Sec-WebSocket-Protocol
  int receive_buffer_bytes = 0;            // SO_RCVBUF set before connecting; 0 = kernel default
};

// What one read returned: a message, the peer's close frame, or the end of the connection
// without a close frame (EOF, reset).
struct ReadResult {
  enum class Kind { kMessage, kClosed, kDisconnected };
  Kind kind = Kind::kDisconnected;
  std::string text;
  bool binary = false;
  std::uint16_t close_code = 0;
  std::string close_reason;
  std::string error;  // kDisconnected: why
};

// Lets GoogleTest print a Kind in assertion messages.
void PrintTo(ReadResult::Kind kind, std::ostream* out);

// The end of a connection as seen by WsClient::WaitForClose.
struct CloseResult {
  bool close_frame = false;  // false: EOF or reset without a close frame
  std::uint16_t code = 0;
  std::string error;
  std::size_t messages_before_close = 0;
};

// A blocking WebSocket client for one connection. Every operation has a deadline and throws
// std::runtime_error when it passes (the connection is then unusable), so a broken server fails
// a test instead of hanging it.
class WsClient {
 public:
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects or throws (including when the server refuses the upgrade).
  static std::unique_ptr<WsClient> Connect(std::uint16_t port,
                                           const WsConnectOptions& options = {});
  // Connects, or returns the HTTP response of a refused upgrade. Throws on network errors.
  static std::variant<std::unique_ptr<WsClient>, HttpResponse> TryConnect(
      std::uint16_t port, const WsConnectOptions& options = {});

  // The subprotocol the server selected, empty if none.
  const std::string& subprotocol() const { return subprotocol_; }

  void Send(std::string_view text);
  void SendBinary(std::string_view bytes);

  ReadResult Read(std::chrono::milliseconds timeout = kReadTimeout);
  // The next message, which must be a JSON object in a text frame.
  boost::json::object ReadJson(std::chrono::milliseconds timeout = kReadTimeout);
  // Reads until a JSON message matches `wanted`, skipping others; throws if the connection
  // ends first. `what` names the awaited frame in error messages.
  boost::json::object ReadUntil(const std::function<bool(const boost::json::object&)>& wanted,
                                std::string_view what,
                                std::chrono::milliseconds timeout = kReadTimeout);
  // The next message that is not a presence event (changed or diff). Presence events arrive
  // asynchronously (a subscriber even gets one for its own join), so most tests skip them.
  boost::json::object ReadSkippingPresence(std::chrono::milliseconds timeout = kReadTimeout);
  // Reads and discards messages until the connection ends.
  CloseResult WaitForClose(std::chrono::milliseconds timeout = kReadTimeout);
  // A close handshake with `code`; errors are ignored (the server may be gone already).
  void Close(std::uint16_t code = 1000);

 private:
  struct Impl;
  explicit WsClient(std::unique_ptr<Impl> impl, std::string subprotocol);

  std::unique_ptr<Impl> impl_;
  std::string subprotocol_;
};

// A realtime.presence.changed or realtime.presence.diff event frame.
bool IsPresenceEvent(const boost::json::object& frame);

}  // namespace realtime::testing
