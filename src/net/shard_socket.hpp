#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace realtime {

// A client's socket, served by one shard's io_context from accept to close. Typed with the
// io_context's own executor rather than any_io_executor: the socket object and every wait
// pending on it are then 48 bytes smaller each, and an idle connection holds both.
using ShardSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

}  // namespace realtime
