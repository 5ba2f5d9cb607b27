#include "support/jwks_server.hpp"

#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "support/run_process.hpp"

namespace net = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace realtime::testing {
namespace {

void Openssl(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult r = RunProcess(argv, {}, dir);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
}

// A CA, and a certificate it issues for localhost only (EC keys: quick to make).
void MakeCertificates(const std::string& dir) {
  std::ofstream(dir + "/server.ext") << "subjectAltName=DNS:localhost\n"
                                        "basicConstraints=CA:FALSE\n"
                                        "extendedKeyUsage=serverAuth\n";
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-days", "2", "-subj", "/CN=nself-realtime test CA", "-keyout", "ca.key", "-out",
           "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"},
          dir);
  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
           "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"},
          dir);
  Openssl({"x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
           "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"},
          dir);
}

}  // namespace

struct JwksServer::Impl {
  bool tls;
  std::string dir;
  net::ssl::context ssl{net::ssl::context::tls_server};
  std::uint16_t port = 0;
  std::atomic<int> requests{0};

  std::mutex mutex;
  std::string body;
  std::string cache_control;
  std::string expires;
  int status = 200;
  bool hold = false;
  std::vector<std::shared_ptr<void>> held;  // the loop's thread only

  std::unique_ptr<net::io_context> io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread thread;

  void Listen() {
    io = std::make_unique<net::io_context>(1);
    acceptor = std::make_unique<tcp::acceptor>(*io);
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen();
    port = acceptor->local_endpoint().port();
    Accept();
    thread = std::thread([this] { io->run(); });
  }

  void Close() {
    if (!io) return;
    net::post(*io, [this] {
      error_code ignored;
      acceptor->close(ignored);
      io->stop();
    });
    thread.join();
    held.clear();
    acceptor.reset();
    io.reset();  // drops connections still open
  }

  void Accept() {
    acceptor->async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      Handle(std::move(socket));
      Accept();
    });
  }

  // One request per connection, then close: all the fetcher needs.
  void Handle(tcp::socket socket) {
    if (!tls) {
      auto stream = std::make_shared<tcp::socket>(std::move(socket));
      return Read(stream);
    }
    auto stream = std::make_shared<net::ssl::stream<tcp::socket>>(std::move(socket), ssl);
    stream->async_handshake(net::ssl::stream_base::server, [this, stream](error_code ec) {
      if (!ec) Read(stream);
    });
  }

  template <typename Stream>
  void Read(std::shared_ptr<Stream> stream) {
    auto buffer = std::make_shared<boost::beast::flat_buffer>();
    auto request = std::make_shared<http::request<http::empty_body>>();
    http::async_read(
        *stream, *buffer, *request, [this, stream, buffer, request](error_code ec, std::size_t) {
          if (ec) return;
          ++requests;
          auto response = std::make_shared<http::response<http::string_body>>();
          {
            std::lock_guard lock(mutex);
            if (hold) return held.push_back(stream);
            response->result(static_cast<unsigned>(status));
            response->body() = body;
            if (!cache_control.empty()) response->set("Cache-Control", cache_control);
            if (!expires.empty()) response->set("Expires", expires);
          }
          response->set(http::field::content_type, "application/json");
          response->keep_alive(false);
          response->prepare_payload();
          http::async_write(*stream, *response, [stream, response](error_code, std::size_t) {
            error_code ignored;
            stream->lowest_layer().close(ignored);
          });
        });
  }
};

JwksServer::JwksServer(bool tls) : impl_(std::make_unique<Impl>()) {
  impl_->tls = tls;
  char dir[] = "/tmp/rt-jwks-XXXXXX";
  if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  impl_->dir = dir;
  MakeCertificates(impl_->dir);
  impl_->ssl.use_certificate_chain_file(impl_->dir + "/server.pem");
  impl_->ssl.use_private_key_file(impl_->dir + "/server.key", net::ssl::context::pem);
  impl_->Listen();
}

JwksServer::~JwksServer() {
  impl_->Close();
  std::error_code ignored;
  std::filesystem::remove_all(impl_->dir, ignored);
}

void JwksServer::Serve(std::string body, std::string cache_control, std::string expires,
                       int status) {
  std::lock_guard lock(impl_->mutex);
  impl_->body = std::move(body);
  impl_->cache_control = std::move(cache_control);
  impl_->expires = std::move(expires);
  impl_->status = status;
}

std::string JwksServer::Url() const {
  return std::string(impl_->tls ? "https" : "http") + "://localhost:" + std::to_string(port()) +
         "/.well-known/jwks.json";
}

std::string JwksServer::CaFile() const { return impl_->dir + "/ca.pem"; }
std::uint16_t JwksServer::port() const { return impl_->port; }

void JwksServer::Hold(bool hold) {
  std::lock_guard lock(impl_->mutex);
  impl_->hold = hold;
}
int JwksServer::Requests() const { return impl_->requests.load(); }

void JwksServer::Stop() { impl_->Close(); }

void JwksServer::Restart() {
  impl_->Close();
  impl_->Listen();
}

}  // namespace realtime::testing
