#include "protocol/socketio/upgrade_fsm.hpp"

#include "protocol/socketio/engineio_packet.hpp"

namespace realtime::socketio {

UpgradeFsm::Action UpgradeFsm::abort() {
  state_ = State::aborted;
  return {Action::Type::abort, {}};
}

UpgradeFsm::Action UpgradeFsm::on_text(std::string_view frame) {
  switch (state_) {
    case State::upgraded:
      return {};
    case State::aborted:
      return {Action::Type::abort, {}};
    case State::awaiting_probe:
    case State::probed:
      break;
  }
  // A repeated probe is answered again, as the reference server does.
  if (frame == eio_probe_ping) {
    state_ = State::probed;
    return {Action::Type::probe_answered, eio_probe_pong};
  }
  // "5" only after the probe: the client pauses polling between the two, which is what makes
  // the switch lose nothing.
  if (state_ == State::probed && frame == "5") {
    state_ = State::upgraded;
    return {Action::Type::switch_transport, {}};
  }
  return abort();
}

UpgradeFsm::Action UpgradeFsm::on_binary() {
  if (state_ == State::upgraded) return {};
  return abort();
}

UpgradeFsm::Action UpgradeFsm::on_timeout() {
  if (state_ == State::upgraded) return {};
  return abort();
}

}  // namespace realtime::socketio
