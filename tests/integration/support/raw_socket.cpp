#include "support/raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace realtime::testing {

RawSocket::RawSocket(std::uint16_t port, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect: ") + std::strerror(err));
  }
}

RawSocket::~RawSocket() { Close(); }

void RawSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawSocket::TrySend(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawSocket::Send(std::string_view bytes) {
  if (!TrySend(bytes)) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
}

RawSocket::Received RawSocket::ReadUntil(const std::function<bool(std::string_view)>& done,
                                         std::chrono::milliseconds timeout) {
  Received out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(out.bytes)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return out;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.closed = true;
      return out;
    }
    out.bytes.append(chunk, static_cast<std::size_t>(n));
  }
  return out;
}

RawSocket::Received RawSocket::ReadUntilClosed(std::chrono::milliseconds timeout) {
  return ReadUntil([](std::string_view) { return false; }, timeout);
}

bool RawSocket::PeerClosed() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::vector<HttpResponse> ParseHttpResponses(std::string_view bytes) {
  namespace http = boost::beast::http;
  std::vector<HttpResponse> out;
  while (!bytes.empty()) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      if ((ec && ec != http::error::need_more) || used == 0) break;
    }
    if (!parser.is_done()) break;
    HttpResponse r;
    r.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    r.body = parser.get().body();
    out.push_back(std::move(r));
  }
  return out;
}

std::string UpgradeRequest(std::string_view target, std::string_view extra_headers) {
  std::string out = "GET ";
  out += target;
  out +=
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  out += extra_headers;
  out += "\r\n";
  return out;
}

std::string ClientFrame(unsigned char opcode, std::string_view payload) {
  std::string out;
  out += static_cast<char>(0x80 | opcode);
  out += static_cast<char>(0x80 | payload.size());
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(payload[i] ^ key[i & 3]);
  return out;
}

}  // namespace realtime::testing
