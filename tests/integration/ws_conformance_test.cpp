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
  // `behind_request`: bytes sent in the same write as the upgrade request (frames a client
  // sends before it sees the 101). `receive_buffer`: SO_RCVBUF, 0 for the kernel's default.
  explicit RawClient(std::uint16_t port, const std::string& behind_request = {},
                     int receive_buffer = 0)
      : socket_(io_) {
    socket_.open(net::ip::tcp::v4());
    if (receive_buffer > 0) {
      socket_.set_option(net::socket_base::receive_buffer_size(receive_buffer));
    }
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    const std::string request =
        "GET /realtime/connect?user=raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" +
        behind_request;
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
    net::write(socket_, net::buffer(Frame(first, payload, mask)));
  }
  void SendBytes(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }

  static std::string Frame(unsigned char first, const std::string& payload, bool mask = true) {
    std::string out;
    out += static_cast<char>(first);
    out += static_cast<char>((mask ? 0x80 : 0) | payload.size());  // tests send < 126 bytes
    const char key[4] = {1, 2, 3, 4};
    if (mask) out.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      out += mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
    }
    return out;
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

// A protocol error in bytes that arrive with the upgrade request: the client still gets the 101
// before the close frame (the close must not replace the unsent handshake).
TEST_F(WsConformanceTest, ProtocolErrorRightBehindTheUpgradeRequestStillGetsThe101First) {
  RawClient client(server_.port(), RawClient::Frame(0x81, R"({"type":"ping"})", /*mask=*/false));
  EXPECT_NE(client.head().find("HTTP/1.1 101"), std::string::npos) << client.head();
  EXPECT_EQ(client.ReadUntilClose(), 1002);
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
  client.SendFrame(0x01, R"({"type":"pi)");            // text, not final
  client.SendFrame(0x89, "hb");                        // a ping in between is allowed
  client.SendFrame(0x80, R"(ng","id":7})");            // final continuation
  client.SendFrame(0x88, std::string("\x03\xE8", 2));  // then close 1000
  EXPECT_EQ(client.ReadUntilClose(), 1000);            // the server echoes the close
  ASSERT_EQ(client.pongs().size(), 1u);
  EXPECT_EQ(client.pongs()[0], "hb");
  bool replied = false;
  for (const auto& t : client.texts()) {
    replied = replied || (t.find(R"("type":"pong")") != std::string::npos &&
                          t.find(R"("id":7)") != std::string::npos);
  }
  EXPECT_TRUE(replied) << "no pong reply to the reassembled ping message";
}

// A client that pings without ever reading the pongs is a slow consumer like any other reader:
// its queue of pongs is bounded by REALTIME_MAX_QUEUE_BYTES, then it is closed with 4008.
TEST(WsQueueBoundTest, PingsFromAClientThatNeverReadsEndIn4008NotUnboundedPongs) {
  ServerProcess server(ServerProcess::DevArgs({"--max-queue-bytes", "4096"}));
  RawClient client(server.port(), {}, /*receive_buffer=*/4096);
  // 131-byte pings in 64 KiB writes: 16 MiB in all, far more than the server's socket buffer
  // (at most 4 MiB here) and the 4 KiB queue can hold as pongs.
  const std::string ping = RawClient::Frame(0x89, std::string(125, 'p'));
  std::string chunk;
  while (chunk.size() + ping.size() <= 64 * 1024) chunk += ping;
  for (int i = 0; i < 256; ++i) client.SendBytes(chunk);
  EXPECT_EQ(client.ReadUntilClose(), 4008);
  EXPECT_GE(ScrapeMetric(server.port(), "realtime_slow_consumer_closes_total"), 1.0);
}

}  // namespace
}  // namespace realtime::testing
