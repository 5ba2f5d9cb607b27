// libFuzzer target: a whole connection, one Engine.IO packet per input line, through
// ConnectionFsm and UpgradeFsm (tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/socketio/connection_fsm.hpp"
#include "protocol/socketio/upgrade_fsm.hpp"

using namespace realtime::socketio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  ConnectionFsm fsm;
  UpgradeFsm upgrade;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

    upgrade.on_text(line);
    const auto state = fsm.state();
    Action action = fsm.on_text(line);
    if (std::holds_alternative<Authenticate>(action)) {
      // Alternate the answers so both paths run.
      const std::string reply = (line.size() % 2) != 0U ? fsm.accept("s") : fsm.refuse("r");
      if (reply.empty()) std::abort();
    }
    if (std::holds_alternative<Close>(action) && fsm.state() != ConnectionFsm::State::closed) {
      std::abort();
    }
    if (state == ConnectionFsm::State::closed && !std::holds_alternative<Ignored>(action)) {
      std::abort();
    }
  }
  return 0;
}
