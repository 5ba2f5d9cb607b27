// RFC 6455 rules on a real socket: frames no well-behaved client library would send, written
// byte by byte, and what the server answers.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <string>
#include <vector>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace net = boost::asio;

namespace realtime::testing {
namespace {

// A client that speaks raw bytes after a hand-made handshake.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : socket_(io_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    const std::string request =
        "GET /realtime/connect?user=raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    net::write(socket_, net::buffer(request));
    net::read_until(socket_, buffer_, "\r\n\r\n");
    std::string head(net::buffers_begin(buffer_.data()), net::buffers_end(buffer_.data()));
    head_ = head.substr(0, head.find("\r\n\r\n") + 4);
    buffer_.consume(head_.size());
  }

  const std::string& head() const { return head_; }
  // Text and pong frames seen by ReadUntilClose, in order.
  const std::vector<std::string>& texts() const { return texts_; }
  const std::vector<std::string>& pongs() const { return pongs_; }

  // A frame with the given first byte, payload, and mask (masked unless told otherwise).
  void SendFrame(unsigned char first, const std::string& payload, bool mask = true) {
    std::string out;
    out += static_cast<char>(first);
    out += static_cast<char>((mask ? 0x80 : 0) | payload.size());  // tests send < 126 bytes
    const char key[4] = {1, 2, 3, 4};
    if (mask) out.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      out += mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
    }
    net::write(socket_, net::buffer(out));
  }

  // Reads server frames until a close frame; returns its code (0 if the connection just ended).
  std::uint16_t ReadUntilClose() {
    boost::system::error_code ec;
    for (;;) {
      while (buffer_.size() < 2) {
        if (net::read(socket_, buffer_.prepare(1), ec) == 0 || ec) return 0;
        buffer_.commit(1);
      }
      std::string bytes(net::buffers_begin(buffer_.data()), net::buffers_end(buffer_.data()));
      const auto op = static_cast<unsigned char>(bytes[0]) & 0x0F;
      std::size_t len = static_cast<unsigned char>(bytes[1]) & 0x7F;
      std::size_t header = 2;
      if (len == 126) header = 4;
      if (len == 127) header = 10;
      while (buffer_.size() < header) {
        if (net::read(socket_, buffer_.prepare(1), ec) == 0 || ec) return 0;
        buffer_.commit(1);
        bytes.assign(net::buffers_begin(buffer_.data()), net::buffers_end(buffer_.data()));
      }
      if (len == 126) {
        len = (static_cast<unsigned char>(bytes[2]) << 8) | static_cast<unsigned char>(bytes[3]);
      } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(bytes[2 + i]);
      }
      while (buffer_.size() < header + len) {
        const std::size_t n = socket_.read_some(buffer_.prepare(4096), ec);
        if (ec) return 0;
        buffer_.commit(n);
      }
      bytes.assign(net::buffers_begin(buffer_.data()), net::buffers_end(buffer_.data()));
      buffer_.consume(header + len);
      if (op == 0x1) texts_.push_back(bytes.substr(header, len));
      if (op == 0xA) pongs_.push_back(bytes.substr(header, len));
      if (op == 0x8) {
        if (len < 2) return 1005;
        return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[header]) << 8) |
                                          static_cast<unsigned char>(bytes[header + 1]));
      }
    }
  }

 private:
  net::io_context io_;
  net::ip::tcp::socket socket_;
  net::streambuf buffer_;
  std::string head_;
  std::vector<std::string> texts_;
  std::vector<std::string> pongs_;
};

class WsConformanceTest : public ::testing::Test {
 protected:
  ServerProcess server_{ServerProcess::DevArgs({"--max-message-bytes", "256"})};
};

TEST_F(WsConformanceTest, HandshakeAnswersWithTheRfcAcceptKey) {
  RawClient client(server_.port());
  EXPECT_NE(client.head().find("HTTP/1.1 101"), std::string::npos) << client.head();
  EXPECT_NE(client.head().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            std::string::npos)
      << client.head();
}

TEST_F(WsConformanceTest, UnmaskedClientFrameIsAProtocolError) {
  RawClient client(server_.port());
  client.SendFrame(0x81, R"({"type":"ping"})", /*mask=*/false);
  EXPECT_EQ(client.ReadUntilClose(), 1002);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server_.port()));
}

TEST_F(WsConformanceTest, InvalidUtf8TextIsClosedWith1007) {
  RawClient client(server_.port());
  client.SendFrame(0x81, "\"\xC3\x28\"");
  EXPECT_EQ(client.ReadUntilClose(), 1007);
}

TEST_F(WsConformanceTest, ReservedBitsAreAProtocolError) {
  RawClient client(server_.port());
  client.SendFrame(0xC1, "{}");  // RSV1 without a negotiated extension
  EXPECT_EQ(client.ReadUntilClose(), 1002);
}

TEST_F(WsConformanceTest, FragmentedMessageIsReassembled) {
  RawClient client(server_.port());
  client.SendFrame(0x01, R"({"type":"pi)");  // text, not final
  client.SendFrame(0x89, "hb");              // a ping in between is allowed
  client.SendFrame(0x80, R"(ng","id":7})");  // final continuation
  client.SendFrame(0x88, std::string("\x03\xE8", 2));  // then close 1000
  EXPECT_EQ(client.ReadUntilClose(), 1000);  // the server echoes the close
  ASSERT_EQ(client.pongs().size(), 1u);
  EXPECT_EQ(client.pongs()[0], "hb");
  bool replied = false;
  for (const auto& t : client.texts()) {
    replied = replied || (t.find(R"("type":"pong")") != std::string::npos &&
                          t.find(R"("id":7)") != std::string::npos);
  }
  EXPECT_TRUE(replied) << "no pong reply to the reassembled ping message";
}

}  // namespace
}  // namespace realtime::testing
