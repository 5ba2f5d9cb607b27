#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "net/frame_ring.hpp"
#include "net/shard_socket.hpp"
#include "protocol/frame.hpp"
#include "ws/frame_codec.hpp"

namespace realtime {

class Shard;

// One WebSocket's bytes after the 101, on one shard: readiness-based reads into the shard's
// buffer, ws::FrameDecoder (sans-io) for the protocol, and a bounded queue of frames already
// encoded for the wire (header + payload, shared by every subscriber) that goes out in order, as
// many per write system call as are queued, once per loop turn. A peer whose queue overflows is
// closed with 4008 instead of growing the server's memory.
//
// A member of the client that speaks over it (protocol v1's WsSession, a Socket.IO session): the
// owner gets the data messages and the end, and keeps itself (and so the stream) alive across
// the stream's asynchronous waits.
class WsStream {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // A data message (text or binary), whole; `now` is when its bytes arrived.
    virtual void on_ws_message(std::string_view payload, bool text,
                               std::chrono::steady_clock::time_point now) = 0;
    // The connection is over (EOF, reset, the close handshake done, a failed write): once.
    virtual void on_ws_end() = 0;
    virtual std::shared_ptr<void> ws_hold() = 0;
  };

  // `pending_input`: bytes that arrived behind the upgrade request, already read by HttpSession.
  // `deflate`: the handshake negotiated permessage-deflate (the client may send compressed
  // messages; the owner may send the shard's compressed frames).
  WsStream(ShardSocket&& socket, Shard& shard, Owner& owner, std::size_t max_message_bytes,
           std::string pending_input, bool deflate = false);
  ~WsStream();
  WsStream(const WsStream&) = delete;
  WsStream& operator=(const WsStream&) = delete;

  // Queues `head` (the 101 response) and starts reading; what the peer sent behind its upgrade
  // request is decoded first.
  void start(std::string head);
  // Queues a frame already encoded for the wire (bounded: REALTIME_MAX_QUEUE_BYTES).
  void send(const FramePtr& frame);
  void send_text(std::string_view payload);
  // Starts the closing handshake. What is unsent is dropped (a slow consumer, a shutdown) unless
  // `keep_queued`: then the close frame follows it (a last word before the close).
  void close(unsigned short code, std::string_view reason, bool keep_queued = false);
  // Writes what is queued (the shard calls it at the end of a loop turn), unless a wait for a
  // full socket is pending: its completion writes instead.
  void flush();
  // Closes the socket now, without a handshake.
  void abort();
  // The shard's heartbeat sweep: a stream that queued nothing since the last sweep gives back its
  // queue's array (idle connections are most of a node's memory; a busy one keeps it).
  void sweep_idle() { queue_.release_if_unused(); }

  bool closing() const { return closing_ || ended_; }
  bool deflate() const { return deflate_; }
  bool ended() const { return ended_; }
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  boost::asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  void do_read();
  void on_readable(boost::system::error_code ec);
  void drain_decoder();
  // One decoded event; false when nothing more is to be decoded now.
  bool on_decoded(const ws::DecodeEvent& e);
  void send_control(ws::Opcode opcode, std::string_view payload);
  bool make_room(std::size_t bytes);
  void close_slow_consumer();
  void enqueue(FramePtr frame);
  void write_queued();
  void consume(std::size_t bytes);
  void wait_writable();
  void on_writable(boost::system::error_code ec);
  void write_failed();
  void arm_close_deadline();
  void close_socket();
  void end();

  ShardSocket socket_;
  Shard& shard_;
  Owner& owner_;
  ws::FrameDecoder decoder_;
  FrameRing queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t write_offset_ = 0;  // bytes of the front frame already written
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;  // only while closing
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  bool started_ = false;
  bool deflate_ = false;            // permessage-deflate negotiated
  bool corked_ = false;             // the shard flushes us at the end of its loop turn
  bool waiting_writable_ = false;   // the socket was full: writing resumes when it drains
  bool handshake_unsent_ = false;   // the 101 heads the queue, not yet written whole
  bool closing_ = false;            // our close frame is queued or sent
  bool close_after_write_ = false;  // close the socket once the queue is written
  bool ended_ = false;
};

}  // namespace realtime
