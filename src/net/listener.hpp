#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <vector>

#include "net/shard_socket.hpp"

namespace realtime {

class Shard;

// Accepts TCP connections and deals them round-robin to the shards; each socket is created on
// its shard's event loop and stays there.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens at once, so start-up fails loudly (throws) when the port is taken.
  Listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
           std::vector<Shard*> shards);

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void run();
  void stop();  // any thread

 private:
  void do_accept();
  void on_accept(Shard& shard, boost::system::error_code ec, ShardSocket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::vector<Shard*> shards_;
  std::size_t next_ = 0;
};

}  // namespace realtime
