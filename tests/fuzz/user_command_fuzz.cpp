// libFuzzer target: a user command on `<prefix>control` (the server API across nodes), which
// anyone with access to Redis can publish. Checks what is accepted and that it round-trips.
#include <cstddef>
#include <cstdint>
#include <string>

#include "broker/user_command.hpp"
#include "fuzz_support.hpp"
#include "protocol/topic.hpp"

using namespace realtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string node, why;
  const auto command = decode_user_command(fuzz::as_text(data, size), node, why);
  if (!command) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  FUZZ_CHECK(is_valid_name(command->user_id, 255));
  FUZZ_CHECK(command->reason.size() <= 123);
  if (command->kind == UserCommand::Kind::disconnect) {
    FUZZ_CHECK(command->topic.empty());
  } else {
    FUZZ_CHECK(is_valid_topic(command->topic));
  }

  std::string node_again, why_again;
  const auto back = decode_user_command(encode_user_command(*command, node), node_again, why_again);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->kind == command->kind && back->user_id == command->user_id);
  FUZZ_CHECK(back->topic == command->topic && back->reason == command->reason);
  FUZZ_CHECK(node_again == node);
  return 0;
}
