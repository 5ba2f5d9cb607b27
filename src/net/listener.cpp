#include "net/listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "net/http_session.hpp"
#include "net/shard.hpp"

namespace net = boost::asio;

namespace realtime {

Listener::Listener(net::io_context& io, const net::ip::tcp::endpoint& endpoint,
                   std::vector<Shard*> shards)
    : acceptor_(io), retry_timer_(io), shards_(std::move(shards)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

net::ip::tcp::endpoint Listener::local_endpoint() const { return acceptor_.local_endpoint(); }

void Listener::run() { do_accept(); }

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::do_accept() {
  Shard& shard = *shards_[next_];
  next_ = (next_ + 1) % shards_.size();
  acceptor_.async_accept(
      shard.io(), [self = shared_from_this(), &shard](boost::system::error_code ec, ShardSocket s) {
        self->on_accept(shard, ec, std::move(s));
      });
}

void Listener::on_accept(Shard& shard, boost::system::error_code ec, ShardSocket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors (or a transient error): back off instead of spinning; the
    // pending connection stays in the backlog until a descriptor frees up.
    spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }
  socket.set_option(net::ip::tcp::no_delay(true), ec);
  std::make_shared<HttpSession>(std::move(socket), shard)->run();
  do_accept();
}

}  // namespace realtime
