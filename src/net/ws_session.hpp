#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "client/client_session.hpp"
#include "net/frame_ring.hpp"
#include "protocol/frame.hpp"
#include "server/http_api.hpp"
#include "ws/frame_codec.hpp"

namespace realtime {

class Shard;

// One client's WebSocket, owned by one shard and touched only on its thread: the transport under
// the shared client logic (ClientSession). Frames arrive already encoded for the wire (header +
// payload, shared by every subscriber); they wait in a bounded queue and go out in order, as many
// per write system call as are queued. A client whose queue overflows is closed with 4008
// instead of growing the server's memory.
//
// The WebSocket protocol itself lives in ws::FrameDecoder (sans-io); this class only moves bytes
// and hands each text message to the dialect.
class WsSession final : public ClientSession, public std::enable_shared_from_this<WsSession> {
 public:
  // `pending_input`: bytes that arrived after the upgrade request, already read by HttpSession.
  WsSession(boost::asio::ip::tcp::socket&& socket, Shard& shard, UpgradeGrant grant,
            std::string pending_input);
  ~WsSession() override;

  void run();
  // Writes what is queued (the shard calls it at the end of a loop turn), unless a wait for a
  // full socket is pending: its completion writes instead.
  void flush();
  void close(unsigned short code, std::string_view reason) override;
  bool closing() const override { return closing_ || finished_; }

 private:
  void send_wire(const FramePtr& frame) override;
  FramePtr wire(std::string_view payload) const override;
  std::shared_ptr<ClientSession> self() override { return shared_from_this(); }
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }

  void do_read();
  void on_readable(boost::system::error_code ec);
  void drain_decoder();
  void on_message(std::string_view text);
  void send_control(ws::Opcode opcode, std::string_view payload);
  // Whether `bytes` more may be queued (REALTIME_MAX_QUEUE_BYTES), after writing at once if the
  // bound is reached.
  bool make_room(std::size_t bytes);
  void close_slow_consumer();
  // Queues without the bound and corks the session for the end of the loop turn.
  void enqueue(FramePtr frame);
  void write_queued();
  void consume(std::size_t bytes);
  void wait_writable();
  void on_writable(boost::system::error_code ec);
  // Drops the queue and closes the socket after a failed write.
  void write_failed();
  void arm_close_deadline();
  void close_socket();
  // Ends the client (ClientSession::end) and the socket; exactly once.
  void finish();

  boost::asio::ip::tcp::socket socket_;
  ws::FrameDecoder decoder_;
  FrameRing queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t write_offset_ = 0;  // bytes of the front frame already written
  std::unique_ptr<boost::asio::steady_timer> close_deadline_;  // only while closing
  bool accepted_ = false;
  bool corked_ = false;             // the shard flushes us at the end of its loop turn
  bool waiting_writable_ = false;   // the socket was full: writing resumes when it drains
  bool handshake_unsent_ = false;   // the 101 heads the queue, not yet written whole
  bool closing_ = false;            // our close frame is queued or sent
  bool close_after_write_ = false;  // close the socket once the queue is written
  bool finished_ = false;
};

}  // namespace realtime
