#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <vector>

#include "net/shard_socket.hpp"

namespace realtime {

class Shard;

// Accepts TCP connections for one shard, on that shard's event loop: each shard has its own
// listening socket on the same port (SO_REUSEPORT) and the kernel spreads connections over
// them, so a connection never crosses threads on its way in (no hand-off, no wake-up of
// another loop).
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // One listener per shard, all bound and listening when this returns, so start-up fails
  // loudly (throws) when the port is taken — also by another process listening with
  // SO_REUSEPORT, which would otherwise silently share our port.
  static std::vector<std::shared_ptr<Listener>> open(const boost::asio::ip::tcp::endpoint& endpoint,
                                                     const std::vector<Shard*>& shards);

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void run();
  void stop();  // any thread

 private:
  Listener(Shard& shard, const boost::asio::ip::tcp::endpoint& endpoint, bool reuse_port);

  void do_accept();
  void on_accept(boost::system::error_code ec, ShardSocket socket);

  Shard& shard_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint peer_;  // filled by the accept in flight
  boost::asio::steady_timer retry_timer_;
};

}  // namespace realtime
