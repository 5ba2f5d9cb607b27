// permessage-deflate (RFC 7692) against the real server: a raw client that offers it, reads the
// RSV1 bit itself and inflates with zlib directly (not the server's own code), next to one that
// does not offer it on the same topic.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <string>

#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

namespace net = boost::asio;

namespace realtime::testing {
namespace {

constexpr std::string_view kOffer = "permessage-deflate; client_max_window_bits";
constexpr std::string_view kAnswer =
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover\r\n";

// Raw deflate, sync-flushed, the 00 00 ff ff tail removed: a compressed client message.
std::string Deflate(std::string_view data) {
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, data.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_SYNC_FLUSH);
  out.resize(out.size() - s.avail_out - 4);
  deflateEnd(&s);
  return out;
}

std::string Inflate(std::string_view data) {
  z_stream s{};
  inflateInit2(&s, -15);
  std::string input(data);
  input.append("\x00\x00\xff\xff", 4);
  std::string out(1 << 20, '\0');
  s.next_in = reinterpret_cast<Bytef*>(input.data());
  s.avail_in = static_cast<uInt>(input.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&s, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_STREAM_END) << rc;
  out.resize(out.size() - s.avail_out);
  inflateEnd(&s);
  return out;
}

struct Frame {
  unsigned char first = 0;  // FIN, RSV1-3, opcode
  std::string payload;      // as received (compressed when RSV1)
  bool compressed() const { return (first & 0x40) != 0; }
  unsigned opcode() const { return first & 0x0F; }
  // The message: inflated when compressed.
  std::string text() const { return compressed() ? Inflate(payload) : payload; }
};

// A client that shows the frames as they are on the wire.
class WireClient {
 public:
  WireClient(std::uint16_t port, std::string_view target, std::string_view extensions)
      : socket_(io_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    std::string request = "GET " + std::string(target) +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    if (!extensions.empty()) {
      request += "Sec-WebSocket-Extensions: " + std::string(extensions) + "\r\n";
    }
    request += "\r\n";
    net::write(socket_, net::buffer(request));
    net::read_until(socket_, buffer_, "\r\n\r\n");
    std::string head(net::buffers_begin(buffer_.data()), net::buffers_end(buffer_.data()));
    head_ = head.substr(0, head.find("\r\n\r\n") + 4);
    buffer_.consume(head_.size());
  }

  const std::string& head() const { return head_; }
  bool negotiated() const { return head_.find(kAnswer) != std::string::npos; }

  // A masked frame with first byte `first` (payloads of any length).
  void Send(unsigned char first, std::string_view payload) {
    std::string out;
    out += static_cast<char>(first);
    const std::size_t n = payload.size();
    if (n < 126) {
      out += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
      out += static_cast<char>(0x80 | 126);
      out += static_cast<char>(n >> 8);
      out += static_cast<char>(n & 0xff);
    } else {
      out += static_cast<char>(0x80 | 127);
      for (int s = 56; s >= 0; s -= 8) out += static_cast<char>((n >> s) & 0xff);
    }
    const char key[4] = {5, 6, 7, 8};
    out.append(key, 4);
    for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(payload[i] ^ key[i & 3]);
    net::write(socket_, net::buffer(out));
  }

  Frame Read() {
    Fill(2);
    const auto* p = Bytes();
    Frame f;
    f.first = p[0];
    std::size_t len = p[1] & 0x7F, header = 2;
    if (len == 126) header = 4;
    if (len == 127) header = 10;
    Fill(header);
    p = Bytes();
    if (len == 126) len = (std::size_t{p[2]} << 8) | p[3];
    if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    }
    Fill(header + len);
    p = Bytes();
    f.payload.assign(reinterpret_cast<const char*>(p) + header, len);
    buffer_.consume(header + len);
    return f;
  }

  // Reads until a frame whose message contains `needle`; fails on a close frame.
  Frame ReadUntil(std::string_view needle) {
    for (;;) {
      Frame f = Read();
      if (f.opcode() == 0x8) {
        ADD_FAILURE() << "closed while waiting for " << needle;
        return f;
      }
      if (f.text().find(needle) != std::string::npos) return f;
    }
  }

  // Reads until the close frame; its code.
  std::uint16_t ReadClose() {
    for (;;) {
      Frame f = Read();
      if (f.opcode() != 0x8) continue;
      if (f.payload.size() < 2) return 1005;
      return static_cast<std::uint16_t>((static_cast<unsigned char>(f.payload[0]) << 8) |
                                        static_cast<unsigned char>(f.payload[1]));
    }
  }

 private:
  const unsigned char* Bytes() { return static_cast<const unsigned char*>(buffer_.data().data()); }
  void Fill(std::size_t n) {
    while (buffer_.size() < n) {
      const std::size_t got = socket_.read_some(buffer_.prepare(65536));
      buffer_.commit(got);
    }
  }

  net::io_context io_;
  net::ip::tcp::socket socket_;
  net::streambuf buffer_;
  std::string head_;
};

// A chat message of ~500 bytes, as an app would publish it.
std::string ChatMessage(int n) {
  return R"({"id":"msg-)" + std::to_string(n) +
         R"(","channelId":"general","user":{"id":"user-1842","displayName":"Ada Lovelace",)"
         R"("avatarUrl":"https://cdn.example.com/avatars/user-1842.png"},)"
         R"("text":"Has anyone looked at the deploy from this morning? The realtime numbers look )"
         R"(better than last week, the fan-out is fine and the presence diffs are small.",)"
         R"("createdAt":"2026-12-02T05:31:07.412Z","editedAt":null,"reactions":)"
         R"([{"emoji":"thumbsup","count":3},{"emoji":"eyes","count":1}],)"
         R"("mentions":["user-77","user-1003"],"threadId":null,"attachments":[]})";
}

class CompressionTest : public ::testing::Test {
 protected:
  ServerProcess server_{ServerProcess::DevArgs()};
};

TEST_F(CompressionTest, CompressedAndPlainSubscribersGetTheSameEvent) {
  WireClient deflating(server_.port(), ConnectTarget("ada", {"chat"}), kOffer);
  WireClient plain(server_.port(), ConnectTarget("bob", {"chat"}), "");
  ASSERT_TRUE(deflating.negotiated()) << deflating.head();
  EXPECT_EQ(plain.head().find("Sec-WebSocket-Extensions"), std::string::npos) << plain.head();
  deflating.ReadUntil(R"("type":"subscribed")");
  plain.ReadUntil(R"("type":"subscribed")");

  const std::string message = ChatMessage(1);
  ASSERT_EQ(Publish(server_.port(), "chat", "message.created", message).status, 202);
  const Frame compressed = deflating.ReadUntil(R"("event":"message.created")");
  const Frame uncompressed = plain.ReadUntil(R"("event":"message.created")");
  EXPECT_TRUE(compressed.compressed());
  EXPECT_EQ(compressed.opcode(), 0x1u);
  EXPECT_LT(compressed.payload.size(), uncompressed.payload.size() * 3 / 4);
  EXPECT_FALSE(uncompressed.compressed());
  EXPECT_EQ(compressed.text(), uncompressed.payload);
  EXPECT_NE(compressed.text().find(message), std::string::npos);
}

TEST_F(CompressionTest, SmallEventsAndRepliesGoPlain) {
  WireClient client(server_.port(), ConnectTarget("ada", {"chat"}), kOffer);
  ASSERT_TRUE(client.negotiated());
  EXPECT_FALSE(client.ReadUntil(R"("type":"subscribed")").compressed());
  ASSERT_EQ(Publish(server_.port(), "chat", "tiny", R"({"x":1})").status, 202);
  EXPECT_FALSE(client.ReadUntil(R"("event":"tiny")").compressed());
}

TEST_F(CompressionTest, AcceptsCompressedClientMessages) {
  WireClient client(server_.port(), ConnectTarget("ada"), kOffer);
  ASSERT_TRUE(client.negotiated());
  client.Send(0xC1, Deflate(R"({"type":"ping","id":"deflated"})"));  // FIN, RSV1, text
  client.ReadUntil(R"("id":"deflated")");
  // Fragmented: RSV1 on the first frame only.
  const std::string body = Deflate(R"({"type":"ping","id":"in-two"})");
  client.Send(0x41, body.substr(0, 4));
  client.Send(0x80, body.substr(4));
  client.ReadUntil(R"("id":"in-two")");
}

TEST_F(CompressionTest, ACompressionBombIsClosedWith1009) {
  WireClient client(server_.port(), ConnectTarget("ada"), kOffer);
  ASSERT_TRUE(client.negotiated());
  // 8 MiB of spaces deflate to ~8 KiB; REALTIME_MAX_MESSAGE_BYTES is 64 KiB.
  const std::string bomb = Deflate(std::string(8 << 20, ' '));
  ASSERT_LT(bomb.size(), 65536u);
  client.Send(0xC1, bomb);
  EXPECT_EQ(client.ReadClose(), 1009);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server_.port()));
}

TEST_F(CompressionTest, CorruptDeflateDataIsClosedWith1007) {
  WireClient client(server_.port(), ConnectTarget("ada"), kOffer);
  ASSERT_TRUE(client.negotiated());
  client.Send(0xC1, "\xff\xff\xff\xff");  // BTYPE 11 is reserved
  EXPECT_EQ(client.ReadClose(), 1007);
  ASSERT_NO_FATAL_FAILURE(ExpectFreshClientWorks(server_.port()));
}

TEST_F(CompressionTest, Rsv1WithoutNegotiationIsStillAProtocolError) {
  WireClient client(server_.port(), ConnectTarget("ada"), "");
  ASSERT_FALSE(client.negotiated());
  client.Send(0xC1, Deflate(R"({"type":"ping"})"));
  EXPECT_EQ(client.ReadClose(), 1002);
}

TEST_F(CompressionTest, AnOfferWithASmallServerWindowIsSkipped) {
  WireClient small(server_.port(), ConnectTarget("ada"),
                   "permessage-deflate; server_max_window_bits=10");
  EXPECT_EQ(small.head().find("Sec-WebSocket-Extensions"), std::string::npos) << small.head();
  WireClient second(server_.port(), ConnectTarget("bob"),
                    "permessage-deflate; server_max_window_bits=10, permessage-deflate");
  EXPECT_TRUE(second.negotiated()) << second.head();
  WireClient unknown(server_.port(), ConnectTarget("cy"), "permessage-deflate; x-level=9");
  EXPECT_EQ(unknown.head().find("Sec-WebSocket-Extensions"), std::string::npos);
}

TEST(CompressionOffTest, CompressionOffNeverNegotiates) {
  ServerProcess server(ServerProcess::DevArgs({"--compression", "off"}));
  WireClient client(server.port(), ConnectTarget("ada", {"chat"}), kOffer);
  EXPECT_NE(client.head().find("HTTP/1.1 101"), std::string::npos);
  EXPECT_FALSE(client.negotiated()) << client.head();
  client.ReadUntil(R"("type":"subscribed")");
  ASSERT_EQ(Publish(server.port(), "chat", "message.created", ChatMessage(2)).status, 202);
  EXPECT_FALSE(client.ReadUntil(R"("event":"message.created")").compressed());
}

TEST_F(CompressionTest, SocketIoOverWebSocketGetsCompressedEvents) {
  WireClient client(server_.port(), "/socket.io/?EIO=4&transport=websocket&user=ada", kOffer);
  ASSERT_TRUE(client.negotiated()) << client.head();
  client.ReadUntil(R"("sid")");  // the Engine.IO open packet
  client.Send(0x81, "40");
  client.ReadUntil("40{");
  client.Send(0x81, R"(421["subscribe","chat"])");
  client.ReadUntil("431[");
  const std::string message = ChatMessage(3);
  ASSERT_EQ(Publish(server_.port(), "chat", "message.created", message).status, 202);
  const Frame event = client.ReadUntil(R"(42["message.created")");
  EXPECT_TRUE(event.compressed());
  EXPECT_NE(event.text().find(message), std::string::npos);
}

TEST_F(CompressionTest, SocketIoUpgradedFromPollingGetsCompressedEvents) {
  // Engine.IO 4: a polling session, CONNECT over polling, then the upgrade to a WebSocket that
  // offers permessage-deflate.
  const auto open = HttpGet(server_.port(), "/socket.io/?EIO=4&transport=polling&user=ada");
  ASSERT_EQ(open.status, 200) << open.body;
  const auto sid_at = open.body.find(R"("sid":")");
  ASSERT_NE(sid_at, std::string::npos) << open.body;
  const std::string sid =
      open.body.substr(sid_at + 7, open.body.find('"', sid_at + 7) - sid_at - 7);
  const std::string polling = "/socket.io/?EIO=4&transport=polling&sid=" + sid;
  ASSERT_EQ(SendHttp(server_.port(), "POST", polling, "40").status, 200);
  const auto connected = HttpGet(server_.port(), polling);
  ASSERT_NE(connected.body.find("40{"), std::string::npos) << connected.body;

  WireClient client(server_.port(), "/socket.io/?EIO=4&transport=websocket&sid=" + sid, kOffer);
  ASSERT_TRUE(client.negotiated()) << client.head();
  client.Send(0x81, "2probe");
  client.ReadUntil("3probe");
  client.Send(0x81, "5");
  client.Send(0x81, R"(421["subscribe","chat"])");
  client.ReadUntil("431[");
  const std::string message = ChatMessage(4);
  ASSERT_EQ(Publish(server_.port(), "chat", "message.created", message).status, 202);
  const Frame event = client.ReadUntil(R"(42["message.created")");
  EXPECT_TRUE(event.compressed());
  EXPECT_NE(event.text().find(message), std::string::npos);
}

}  // namespace
}  // namespace realtime::testing
