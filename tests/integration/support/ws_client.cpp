#include "support/ws_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <ostream>
#include <stdexcept>

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;

namespace realtime::testing {

struct WsClient::Impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;

  // Runs one asynchronous operation to completion or until `timeout`; on timeout the socket is
  // closed (which ends the operation) and this throws.
  template <typename Start>
  beast::error_code Run(Start&& start, std::chrono::milliseconds timeout, std::string_view what) {
    bool done = false;
    beast::error_code result;
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && io.run_one_until(deadline) > 0) {
    }
    if (done) return result;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    io.restart();
    while (!done && io.run_one() > 0) {
    }
    throw std::runtime_error("timed out after " + std::to_string(timeout.count()) +
                             " ms waiting for " + std::string(what));
  }
};

WsClient::WsClient(std::unique_ptr<Impl> impl, std::string subprotocol)
    : impl_(std::move(impl)), subprotocol_(std::move(subprotocol)) {}

WsClient::~WsClient() = default;

std::variant<std::unique_ptr<WsClient>, HttpResponse> WsClient::TryConnect(
    std::uint16_t port, const WsConnectOptions& options) {
  auto impl = std::make_unique<Impl>();
  auto& socket = beast::get_lowest_layer(impl->ws).socket();
  if (options.receive_buffer_bytes > 0) {
    socket.open(net::ip::tcp::v4());
    socket.set_option(net::socket_base::receive_buffer_size(options.receive_buffer_bytes));
  }
  const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
  auto ec = impl->Run(
      [&](auto handler) { beast::get_lowest_layer(impl->ws).async_connect(endpoint, handler); },
      kReadTimeout, "TCP connect");
  if (ec) throw std::runtime_error("connect to port " + std::to_string(port) + ": " + ec.message());

  impl->ws.set_option(websocket::stream_base::decorator(
      [headers = options.headers, subprotocol = options.subprotocol](websocket::request_type& req) {
        for (const auto& [name, value] : headers) req.set(name, value);
        if (subprotocol) req.set(beast::http::field::sec_websocket_protocol, *subprotocol);
      }));
  websocket::response_type response;
  const std::string host = "127.0.0.1:" + std::to_string(port);
  ec = impl->Run(
      [&](auto handler) { impl->ws.async_handshake(response, host, options.target, handler); },
      kReadTimeout, "the WebSocket handshake");
  if (ec == websocket::error::upgrade_declined) {
    HttpResponse refused;
    refused.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      refused.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    refused.body = response.body();
    return refused;
  }
  if (ec) throw std::runtime_error("WebSocket handshake failed: " + ec.message());
  std::string selected(response[beast::http::field::sec_websocket_protocol]);
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl), std::move(selected)));
}

std::unique_ptr<WsClient> WsClient::Connect(std::uint16_t port, const WsConnectOptions& options) {
  auto result = TryConnect(port, options);
  if (auto* refused = std::get_if<HttpResponse>(&result)) {
    throw std::runtime_error("upgrade of " + options.target + " refused with HTTP " +
                             std::to_string(refused->status) + ": " + refused->body);
  }
  return std::move(std::get<std::unique_ptr<WsClient>>(result));
}

void WsClient::Send(std::string_view text) {
  impl_->ws.text(true);
  auto ec = impl_->Run(
      [&](auto handler) { impl_->ws.async_write(net::buffer(text.data(), text.size()), handler); },
      kReadTimeout, "a write");
  if (ec) throw std::runtime_error("write failed: " + ec.message());
}

void WsClient::SendBinary(std::string_view bytes) {
  impl_->ws.binary(true);
  auto ec = impl_->Run(
      [&](auto handler) {
        impl_->ws.async_write(net::buffer(bytes.data(), bytes.size()), handler);
      },
      kReadTimeout, "a write");
  impl_->ws.text(true);
  if (ec) throw std::runtime_error("write failed: " + ec.message());
}

ReadResult WsClient::Read(std::chrono::milliseconds timeout) {
  impl_->buffer.clear();
  auto ec = impl_->Run([&](auto handler) { impl_->ws.async_read(impl_->buffer, handler); }, timeout,
                       "a message");
  ReadResult out;
  if (!ec) {
    out.kind = ReadResult::Kind::kMessage;
    out.text = beast::buffers_to_string(impl_->buffer.data());
    out.binary = impl_->ws.got_binary();
  } else if (ec == websocket::error::closed) {
    out.kind = ReadResult::Kind::kClosed;
    out.close_code = static_cast<std::uint16_t>(impl_->ws.reason().code);
    out.close_reason = std::string(impl_->ws.reason().reason.c_str());
  } else {
    out.kind = ReadResult::Kind::kDisconnected;
    out.error = ec.message();
  }
  return out;
}

json::object WsClient::ReadJson(std::chrono::milliseconds timeout) {
  ReadResult r = Read(timeout);
  if (r.kind == ReadResult::Kind::kClosed) {
    throw std::runtime_error("expected a message, got close code " + std::to_string(r.close_code) +
                             " (" + r.close_reason + ")");
  }
  if (r.kind == ReadResult::Kind::kDisconnected) {
    throw std::runtime_error("expected a message, the connection ended: " + r.error);
  }
  if (r.binary) throw std::runtime_error("expected a text frame, got a binary one");
  json::value v = json::parse(r.text);
  if (!v.is_object()) throw std::runtime_error("frame is not a JSON object: " + r.text);
  return std::move(v.as_object());
}

json::object WsClient::ReadUntil(const std::function<bool(const json::object&)>& wanted,
                                 std::string_view what, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string skipped;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error("timed out waiting for " + std::string(what) +
                               "; skipped:" + skipped);
    }
    json::object frame;
    try {
      frame = ReadJson(left);
    } catch (const std::exception& e) {
      throw std::runtime_error("while waiting for " + std::string(what) + ": " + e.what() +
                               "; skipped:" + skipped);
    }
    if (wanted(frame)) return frame;
    if (skipped.size() < 4096) skipped += "\n  " + json::serialize(frame);
  }
}

json::object WsClient::ReadSkippingPresence(std::chrono::milliseconds timeout) {
  return ReadUntil([](const json::object& f) { return !IsPresenceEvent(f); },
                   "a frame other than a presence event", timeout);
}

CloseResult WsClient::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  CloseResult out;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("timed out waiting for the connection to end");
    ReadResult r = Read(left);
    switch (r.kind) {
      case ReadResult::Kind::kMessage:
        ++out.messages_before_close;
        continue;
      case ReadResult::Kind::kClosed:
        out.close_frame = true;
        out.code = r.close_code;
        return out;
      case ReadResult::Kind::kDisconnected:
        out.error = r.error;
        return out;
    }
  }
}

void WsClient::Close(std::uint16_t code) {
  if (!impl_->ws.is_open()) return;
  try {
    impl_->Run([&](auto handler) { impl_->ws.async_close(websocket::close_reason(code), handler); },
               kReadTimeout, "the close handshake");
  } catch (const std::exception&) {
    // The server may already be gone; a client closing is never what a test checks here.
  }
}

void PrintTo(ReadResult::Kind kind, std::ostream* out) {
  switch (kind) {
    case ReadResult::Kind::kMessage:
      *out << "a message";
      return;
    case ReadResult::Kind::kClosed:
      *out << "a close frame";
      return;
    case ReadResult::Kind::kDisconnected:
      *out << "the end of the connection";
      return;
  }
}

bool IsPresenceEvent(const json::object& frame) {
  const auto* type = frame.if_contains("type");
  const auto* event = frame.if_contains("event");
  return type != nullptr && type->is_string() && type->get_string() == "event" &&
         event != nullptr && event->is_string() &&
         (event->get_string() == "realtime.presence.changed" ||
          event->get_string() == "realtime.presence.diff");
}

}  // namespace realtime::testing
