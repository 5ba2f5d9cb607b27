#include "support/fake_backend.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <future>
#include <thread>

namespace realtime::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string FakeBackend::Request::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

struct FakeBackend::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  mutable std::mutex mutex;
  Handler handler;
  std::vector<Request> requests;
  std::vector<std::weak_ptr<beast::tcp_stream>> streams;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      {
        std::lock_guard lock(mutex);
        streams.push_back(stream);
      }
      Serve(stream, std::make_shared<beast::flat_buffer>());
      Accept();
    });
  }

  void Serve(std::shared_ptr<beast::tcp_stream> stream,
             std::shared_ptr<beast::flat_buffer> buffer) {
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, std::size_t) {
          if (ec) return;
          Request r;
          r.method = std::string(req->method_string());
          r.target = std::string(req->target());
          for (const auto& f : *req) {
            std::string name(f.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(c));
            r.headers.emplace_back(std::move(name), std::string(f.value()));
          }
          r.body = req->body();
          Handler h;
          {
            std::lock_guard lock(mutex);
            requests.push_back(r);
            h = handler;
          }
          Answer a = h ? h(r) : Answer{};
          auto respond = [this, stream, buffer, a] {
            auto res = std::make_shared<http::response<http::string_body>>(
                static_cast<http::status>(a.status), 11);
            res->set(http::field::content_type, "application/json");
            res->body() = a.body;
            res->keep_alive(true);
            res->prepare_payload();
            http::async_write(*stream, *res,
                              [this, stream, buffer, res](beast::error_code ec, std::size_t) {
                                if (!ec) Serve(stream, buffer);
                              });
          };
          if (a.delay.count() == 0) return respond();
          auto timer = std::make_shared<net::steady_timer>(io, a.delay);
          timer->async_wait([timer, respond](beast::error_code ec) {
            if (!ec) respond();
          });
        });
  }
};

FakeBackend::FakeBackend(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeBackend::~FakeBackend() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void FakeBackend::SetHandler(Handler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handler = std::move(handler);
}

std::vector<FakeBackend::Request> FakeBackend::Requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t FakeBackend::RequestCount() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

void FakeBackend::Stop() {
  net::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    std::lock_guard lock(impl_->mutex);
    for (auto& w : impl_->streams) {
      if (auto s = w.lock()) s->socket().close(ignored);
    }
  });
  // Wait until the acceptor is closed: later connects are refused.
  std::promise<void> done;
  net::post(impl_->io, [&] { done.set_value(); });
  done.get_future().wait();
}

}  // namespace realtime::testing
