#include "net/listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/post.hpp>

#include "net/http_session.hpp"
#include "net/shard.hpp"

namespace net = boost::asio;

namespace realtime {
namespace {

using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Is the port free? A socket without SO_REUSEPORT can't bind where anyone listens, whether or
// not they set it; it never listens, so it leaves nothing behind.
void check_port_free(const net::ip::tcp::endpoint& endpoint) {
  net::io_context io;
  net::ip::tcp::acceptor probe(io);
  probe.open(endpoint.protocol());
  probe.set_option(net::socket_base::reuse_address(true));
  probe.bind(endpoint);  // throws "Address already in use"
}

}  // namespace

std::vector<std::shared_ptr<Listener>> Listener::open(const net::ip::tcp::endpoint& endpoint,
                                                      const std::vector<Shard*>& shards) {
  const bool several = shards.size() > 1;
  if (several && endpoint.port() != 0) check_port_free(endpoint);
  std::vector<std::shared_ptr<Listener>> out;
  net::ip::tcp::endpoint bound = endpoint;
  for (Shard* shard : shards) {
    out.push_back(std::shared_ptr<Listener>(new Listener(*shard, bound, several)));
    bound = out.back()->local_endpoint();  // port 0: the others join the port the first got
  }
  return out;
}

Listener::Listener(Shard& shard, const net::ip::tcp::endpoint& endpoint, bool reuse)
    : shard_(shard), acceptor_(shard.io()), retry_timer_(shard.io()) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  if (reuse) acceptor_.set_option(reuse_port(true));
  // Accepted sockets inherit it: no setsockopt per connection.
  acceptor_.set_option(net::ip::tcp::no_delay(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

net::ip::tcp::endpoint Listener::local_endpoint() const { return acceptor_.local_endpoint(); }

void Listener::run() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::do_accept() {
  acceptor_.async_accept(shard_.io(), peer_,
                         [self = shared_from_this()](boost::system::error_code ec, ShardSocket s) {
                           self->on_accept(ec, std::move(s));
                         });
}

void Listener::on_accept(boost::system::error_code ec, ShardSocket socket) {
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
  std::make_shared<HttpSession>(std::move(socket), shard_, peer_.address().is_loopback())->run();
  do_accept();
}

}  // namespace realtime
