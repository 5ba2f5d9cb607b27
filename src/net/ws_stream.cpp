#include "net/ws_stream.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

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

// Allocates exactly what is asked. Asio's default recycles a finished operation's block into the
// next one that fits, however much bigger: an idle connection's read wait (~60 bytes) then held
// the ~350-byte block of the HTTP read that carried its upgrade, for as long as it stayed idle.
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const ExactAllocator<U>&) const {
    return true;
  }
};

}  // namespace

WsStream::WsStream(ShardSocket&& socket, Shard& shard, Owner& owner, std::size_t max_message_bytes,
                   std::string pending_input, bool deflate)
    : socket_(std::move(socket)),
      shard_(shard),
      owner_(owner),
      decoder_(max_message_bytes),
      deflate_(deflate) {
  if (!pending_input.empty()) decoder_.feed(pending_input);
}

WsStream::~WsStream() {
  ended_ = true;
  if (close_deadline_) close_deadline_->cancel();
  error_code ignored;
  socket_.close(ignored);
}

void WsStream::start(std::string head) {
  started_ = true;
  // The 101 heads the queue: it leaves with the owner's first frames (and whatever else this
  // turn queues) in one write. A socket that died meanwhile fails that write, and the read side
  // ends the stream.
  if (!head.empty()) {
    enqueue(std::make_shared<const std::string>(std::move(head)));
    handshake_unsent_ = true;
  }
  // Frames the peer sent right behind its upgrade request, then the socket. Posted: the owner
  // finishes starting first.
  net::post(socket_.get_executor(), [keep = owner_.ws_hold(), this] {
    drain_decoder();
    do_read();
  });
}

void WsStream::do_read() {
  if (ended_) return;
  socket_.async_wait(
      net::socket_base::wait_read,
      net::bind_allocator(ExactAllocator<void>(),
                          [keep = owner_.ws_hold(), this](error_code ec) { on_readable(ec); }));
}

void WsStream::on_readable(error_code ec) {
  if (ec) return end();
  // One receive buffer per shard: an idle connection holds no read buffer of its own.
  auto& scratch = shard_.read_buffer();
  const ssize_t n = ::recv(socket_.native_handle(), scratch.data(), scratch.size(), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return do_read();
  if (n <= 0) return end();  // EOF or reset: the peer is gone
  last_activity_ = std::chrono::steady_clock::now();
  // Decoded where it landed: drain_decoder() is done with it before the next read.
  decoder_.feed_in_place(scratch.data(), static_cast<std::size_t>(n));
  drain_decoder();
  if (!ended_) do_read();
}

void WsStream::drain_decoder() {
  while (!ended_ && on_decoded(decoder_.next(deflate_ ? &shard_.inflater() : nullptr))) {
  }
  // What is left (an incomplete frame, bytes behind a close) leaves the shard's read buffer
  // before its next read reuses it.
  decoder_.shrink();
  if (deflate_) shard_.inflater().shrink();
}

bool WsStream::on_decoded(const ws::DecodeEvent& e) {
  using Kind = ws::DecodeEvent::Kind;
  switch (e.kind) {
    case Kind::need_more:
      return false;
    case Kind::message:
      if (!closing_) owner_.on_ws_message(e.payload, e.text, last_activity_);
      return true;  // after our close frame, data is ignored
    case Kind::ping:
      if (!closing_) send_control(ws::Opcode::pong, e.payload);
      return true;
    case Kind::pong:
      return true;
    case Kind::close:
      if (closing_) {
        close_socket();  // the answer to our close: the handshake is complete
        return false;
      }
      // Echo the peer's close, then end the connection once it is written.
      closing_ = true;
      close_after_write_ = true;
      send_control(ws::Opcode::close,
                   e.close_code == 1005 ? std::string() : ws::close_payload(e.close_code, ""));
      arm_close_deadline();
      return false;
    case Kind::error:
      spdlog::debug("websocket protocol error: {}", e.reason);
      close(e.close_code, e.reason);
      close_after_write_ = true;
      return false;
  }
  return false;
}

void WsStream::send_control(ws::Opcode opcode, std::string_view payload) {
  auto frame = std::make_shared<const std::string>(ws::encode_frame(opcode, payload));
  // A peer that pings without ever reading gets the same bound as any other reader; a close
  // frame always goes (close() has dropped what was unsent before it).
  if (opcode != ws::Opcode::close && !make_room(frame->size())) return close_slow_consumer();
  enqueue(std::move(frame));
}

void WsStream::send_text(std::string_view payload) {
  send(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::text, payload)));
}

void WsStream::send(const FramePtr& frame) {
  if (!started_ || closing_ || ended_) return;
  if (!make_room(frame->size())) return close_slow_consumer();
  enqueue(frame);
  ShardCounters::add(shard_.counters().messages_delivered, 1);
}

bool WsStream::make_room(std::size_t bytes) {
  // One frame always fits in an empty queue, however large; beyond that the queue holds at most
  // REALTIME_MAX_QUEUE_BYTES. Before refusing, the queue is written at once instead of at the end
  // of the turn: a reader that keeps up is never closed because one loop turn queued a lot.
  const std::size_t limit = shard_.context().config->max_queue_bytes;
  if (queued_bytes_ == 0 || queued_bytes_ + bytes <= limit) return true;
  if (!waiting_writable_) write_queued();
  return queued_bytes_ == 0 || queued_bytes_ + bytes <= limit;
}

void WsStream::close_slow_consumer() {
  shard_.context().metrics->count_slow_consumer();
  spdlog::info("websocket closed: slow consumer, {} bytes unsent", queued_bytes_);
  close(close_code::slow_consumer, "slow consumer");
}

void WsStream::enqueue(FramePtr frame) {
  queued_bytes_ += frame->size();
  queue_.push_back(std::move(frame));
  // Written at the end of the shard's loop turn, or by the pending wait for a full socket.
  if (corked_ || waiting_writable_) return;
  corked_ = true;
  shard_.cork(owner_.ws_hold(), this);
}

void WsStream::flush() {
  corked_ = false;
  if (!ended_ && !waiting_writable_) write_queued();
}

void WsStream::write_queued() {
  // Our own sendmsg rather than an Asio write op: no operation to allocate and complete, and up
  // to IOV_MAX frames per call where Asio hands over 64. MSG_DONTWAIT: it never blocks.
  auto& iov = shard_.iovecs();
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
    ShardCounters::add(shard_.counters().bytes_out, static_cast<std::uint64_t>(n));
    consume(static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < total) return wait_writable();  // the socket buffer is full
  }
  if (close_after_write_) {
    error_code ignored;
    socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    // The deadline closes the socket if the peer never closes its side.
  }
}

void WsStream::consume(std::size_t bytes) {
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

void WsStream::wait_writable() {
  waiting_writable_ = true;
  socket_.async_wait(
      net::socket_base::wait_write,
      net::bind_allocator(WriteOpAllocator<void>(&shard_.write_op_pool()),
                          [keep = owner_.ws_hold(), this](error_code ec) { on_writable(ec); }));
}

void WsStream::on_writable(error_code ec) {
  waiting_writable_ = false;
  if (ec) return write_failed();
  if (!ended_) write_queued();
}

void WsStream::write_failed() {
  queue_.clear();
  queued_bytes_ = 0;
  write_offset_ = 0;
  close_socket();  // the read side sees the dead socket too and ends the stream
}

void WsStream::close(unsigned short code, std::string_view reason, bool keep_queued) {
  if (!started_ || closing_ || ended_) return;
  // Drop what is unsent, but keep a partly written frame (the peer already has its beginning)
  // and the 101 (without it the close frame would answer an HTTP request).
  const std::size_t keep = keep_queued                              ? queue_.size()
                           : write_offset_ > 0 || handshake_unsent_ ? 1
                                                                    : 0;
  while (queue_.size() > keep) {
    queued_bytes_ -= queue_.back()->size();
    queue_.pop_back();
  }
  send_control(ws::Opcode::close, ws::close_payload(code, reason));
  closing_ = true;
  arm_close_deadline();
}

void WsStream::abort() { close_socket(); }

void WsStream::arm_close_deadline() {
  if (close_deadline_) return;
  close_deadline_ = std::make_unique<net::steady_timer>(socket_.get_executor(), close_deadline);
  close_deadline_->async_wait([keep = owner_.ws_hold(), this](error_code ec) {
    if (!ec) close_socket();
  });
}

void WsStream::close_socket() {
  error_code ignored;
  socket_.close(ignored);  // pending operations end with operation_aborted; reading ends us
}

void WsStream::end() {
  if (ended_) return;
  ended_ = true;
  if (close_deadline_) close_deadline_->cancel();
  error_code ignored;
  socket_.close(ignored);
  owner_.on_ws_end();
}

}  // namespace realtime
