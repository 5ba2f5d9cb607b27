#include "net/ws_session.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/bind_allocator.hpp>

#include "net/shard.hpp"
#include "server/server_context.hpp"

namespace net = boost::asio;
using boost::system::error_code;

namespace realtime {
namespace {

// How long a closing handshake may take before the socket is simply closed: a slow consumer
// that never reads again must not pin its connection.
constexpr auto close_deadline = std::chrono::seconds(5);

}  // namespace

WsSession::WsSession(net::ip::tcp::socket&& socket, Shard& shard, UpgradeGrant grant,
                     std::string pending_input)
    : ClientSession(shard, std::move(grant), V1Dialect::instance()),
      socket_(std::move(socket)),
      decoder_(shard.context().config->max_message_bytes) {
  if (!pending_input.empty()) decoder_.feed(pending_input);
}

WsSession::~WsSession() { finish(); }

FramePtr WsSession::wire(std::string_view payload) const {
  return std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::text, payload));
}

void WsSession::run() {
  // Reads and writes are our own recv/sendmsg with MSG_DONTWAIT: the socket's mode is not asked.
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Server: nself-realtime/" REALTIME_VERSION
      "\r\n"
      "Sec-WebSocket-Accept: " +
      grant().accept_key + "\r\n";
  if (grant().subprotocol)
    response += "Sec-WebSocket-Protocol: " + std::string(subprotocol_v1) + "\r\n";
  response += "\r\n";
  // The 101 heads the queue: it leaves with the welcome (and whatever else this turn queues) in
  // one write. A socket that died meanwhile fails that write, and the read side finishes us.
  enqueue(std::make_shared<const std::string>(std::move(response)));
  handshake_unsent_ = true;
  accepted_ = true;
  start();
  drain_decoder();  // frames the client sent right behind its upgrade request
  do_read();
}

void WsSession::do_read() {
  if (finished_) return;
  socket_.async_wait(net::socket_base::wait_read,
                     [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void WsSession::on_readable(error_code ec) {
  if (ec) return finish();
  // One receive buffer per shard: an idle connection holds no read buffer of its own.
  auto& scratch = shard().read_buffer();
  const ssize_t n = ::recv(socket_.native_handle(), scratch.data(), scratch.size(), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return do_read();
  if (n <= 0) return finish();  // EOF or reset: the peer is gone
  touch(std::chrono::steady_clock::now());
  decoder_.feed(std::string_view(scratch.data(), static_cast<std::size_t>(n)));
  drain_decoder();
  if (!finished_) do_read();
}

void WsSession::drain_decoder() {
  using Kind = ws::DecodeEvent::Kind;
  while (!finished_) {
    ws::DecodeEvent e = decoder_.next();
    switch (e.kind) {
      case Kind::need_more:
        decoder_.shrink();
        return;
      case Kind::message:
        if (closing_) break;  // after our close frame, data is ignored
        if (!take_frame_budget(last_activity())) {
          // Dropped unparsed: a flood must cost the server as little as possible.
          send_error({}, ErrorCode::rate_limited,
                     "more than REALTIME_CLIENT_RATE_LIMIT frames per second; frame dropped");
        } else if (!e.text) {
          send_error({}, ErrorCode::bad_request,
                     "binary frames are not supported: send JSON text frames");
        } else {
          on_message(e.payload);
        }
        break;
      case Kind::ping:
        if (!closing_) send_control(ws::Opcode::pong, e.payload);
        break;
      case Kind::pong:
        break;
      case Kind::close:
        if (closing_) {
          close_socket();  // the answer to our close: the handshake is complete
          return;
        }
        // Echo the peer's close, then end the connection once it is written.
        closing_ = true;
        close_after_write_ = true;
        send_control(ws::Opcode::close,
                     e.close_code == 1005 ? std::string() : ws::close_payload(e.close_code, ""));
        arm_close_deadline();
        return;
      case Kind::error:
        spdlog::debug("{} protocol error: {}", connection_id(), e.reason);
        close(e.close_code, e.reason);
        close_after_write_ = true;
        return;
    }
  }
}

void WsSession::on_message(std::string_view text) {
  auto parsed = parse_client_message(text);
  if (auto* err = std::get_if<ClientMessageError>(&parsed)) {
    return send_error(err->id, err->code, err->message);
  }
  handle(std::move(std::get<ClientMessage>(parsed)));
}

void WsSession::send_control(ws::Opcode opcode, std::string_view payload) {
  auto frame = std::make_shared<const std::string>(ws::encode_frame(opcode, payload));
  // A peer that pings without ever reading gets the same bound as any other reader; a close
  // frame always goes (close() has dropped what was unsent before it).
  if (opcode != ws::Opcode::close && !make_room(frame->size())) return close_slow_consumer();
  enqueue(std::move(frame));
}

void WsSession::send_wire(const FramePtr& frame) {
  if (!accepted_ || closing_ || finished_) return;
  if (!make_room(frame->size())) return close_slow_consumer();
  enqueue(frame);
  ShardCounters::add(shard().counters().messages_delivered, 1);
}

bool WsSession::make_room(std::size_t bytes) {
  // One frame always fits in an empty queue, however large; beyond that the queue holds at most
  // REALTIME_MAX_QUEUE_BYTES. Before refusing, the queue is written at once instead of at the end
  // of the turn: a reader that keeps up is never closed because one loop turn queued a lot.
  const std::size_t limit = shard().context().config->max_queue_bytes;
  if (queued_bytes_ == 0 || queued_bytes_ + bytes <= limit) return true;
  if (!waiting_writable_) write_queued();
  return queued_bytes_ == 0 || queued_bytes_ + bytes <= limit;
}

void WsSession::close_slow_consumer() {
  shard().context().metrics->count_slow_consumer();
  spdlog::info("{} (user {}) closed: slow consumer, {} bytes unsent", connection_id(), user_id(),
               queued_bytes_);
  close(close_code::slow_consumer, "slow consumer");
}

void WsSession::enqueue(FramePtr frame) {
  queued_bytes_ += frame->size();
  queue_.push_back(std::move(frame));
  // Written at the end of the shard's loop turn, or by the pending wait for a full socket.
  if (corked_ || waiting_writable_) return;
  corked_ = true;
  shard().cork(shared_from_this());
}

void WsSession::flush() {
  corked_ = false;
  if (!finished_ && !waiting_writable_) write_queued();
}

void WsSession::write_queued() {
  // Our own sendmsg rather than an Asio write op: no operation to allocate and complete, and up
  // to IOV_MAX frames per call where Asio hands over 64. MSG_DONTWAIT: it never blocks.
  auto& iov = shard().iovecs();
  while (!queue_.empty()) {
    const std::size_t count = std::min(queue_.size(), iov.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string& frame = *queue_[i];
      const std::size_t skip = i == 0 ? write_offset_ : 0;
      iov[i].iov_base = const_cast<char*>(frame.data() + skip);
      iov[i].iov_len = frame.size() - skip;
      total += iov[i].iov_len;
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    const ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_writable();
      return write_failed();
    }
    ShardCounters::add(shard().counters().bytes_out, static_cast<std::uint64_t>(n));
    consume(static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < total) return wait_writable();  // the socket buffer is full
  }
  if (close_after_write_) {
    error_code ignored;
    socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    // The deadline closes the socket if the peer never closes its side.
  }
}

void WsSession::consume(std::size_t bytes) {
  // Drop the frames written whole; a partly written one stays in front (close() keeps it) and
  // goes on at write_offset_.
  while (bytes > 0) {
    const std::size_t rest = queue_.front()->size() - write_offset_;
    if (bytes < rest) {
      write_offset_ += bytes;
      return;
    }
    bytes -= rest;
    write_offset_ = 0;
    handshake_unsent_ = false;  // the 101 is the first frame ever queued
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
  }
}

void WsSession::wait_writable() {
  waiting_writable_ = true;
  socket_.async_wait(
      net::socket_base::wait_write,
      net::bind_allocator(WriteOpAllocator<void>(&shard().write_op_pool()),
                          [self = shared_from_this()](error_code ec) { self->on_writable(ec); }));
}

void WsSession::on_writable(error_code ec) {
  waiting_writable_ = false;
  if (ec) return write_failed();
  if (!finished_) write_queued();
}

void WsSession::write_failed() {
  queue_.clear();
  queued_bytes_ = 0;
  write_offset_ = 0;
  close_socket();  // the read side sees the dead socket too and finishes the session
}

void WsSession::close(unsigned short code, std::string_view reason) {
  if (!accepted_ || closing_ || finished_) return;
  // Drop what is unsent, but keep a partly written frame (the peer already has its beginning)
  // and the 101 (without it the close frame would answer an HTTP request).
  const std::size_t keep = write_offset_ > 0 || handshake_unsent_ ? 1 : 0;
  while (queue_.size() > keep) {
    queued_bytes_ -= queue_.back()->size();
    queue_.pop_back();
  }
  send_control(ws::Opcode::close, ws::close_payload(code, reason));
  closing_ = true;
  arm_close_deadline();
}

void WsSession::arm_close_deadline() {
  if (close_deadline_) return;
  close_deadline_ = std::make_unique<net::steady_timer>(socket_.get_executor(), close_deadline);
  close_deadline_->async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->close_socket();
  });
}

void WsSession::close_socket() {
  error_code ignored;
  socket_.close(ignored);  // pending operations end with operation_aborted; reading finishes us
}

void WsSession::finish() {
  if (finished_) return;
  finished_ = true;
  end();
  if (close_deadline_) close_deadline_->cancel();
  error_code ignored;
  socket_.close(ignored);
  shard().context().metrics->release_connection();
}

}  // namespace realtime
