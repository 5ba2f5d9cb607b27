#pragma once

#include <cstdint>
#include <string_view>

namespace realtime::socketio {

// The server side of a polling session's upgrade to WebSocket. The client opens a WebSocket with
// the session's sid, sends "2probe", gets "3probe", pauses polling (waiting for its pending GET
// to return), then sends "5". The polling transport feeds this machine the frames of that
// WebSocket until it reports switch_transport or abort, and executes what it returns:
//
//   probe_answered    send `text` on the WebSocket; while answer_polls_with_noop() holds, answer
//                     the pending GET, and any new one, with a noop ("6") at once
//   switch_transport  flush what polling buffered onto the WebSocket, end the polling transport
//                     (later requests with this sid get 400), and feed the WebSocket's next
//                     frames to ConnectionFsm
//   abort             close the WebSocket; the session goes on polling
//   none              nothing (a call after the switch)
class UpgradeFsm {
 public:
  enum class State : std::uint8_t { awaiting_probe, probed, upgraded, aborted };

  struct Action {
    enum class Type : std::uint8_t { none, probe_answered, switch_transport, abort };
    Type type = Type::none;
    std::string_view text;  // probe_answered: the packet to send on the WebSocket
  };

  // One WebSocket text frame.
  Action on_text(std::string_view frame);
  // A WebSocket binary frame: never part of the exchange.
  Action on_binary();
  // The client did not complete the upgrade in time (the I/O side's timer, 10 s in the
  // reference server), or the polling session ended first.
  Action on_timeout();

  State state() const { return state_; }
  bool answer_polls_with_noop() const { return state_ == State::probed; }

 private:
  Action abort();

  State state_ = State::awaiting_probe;
};

}  // namespace realtime::socketio
