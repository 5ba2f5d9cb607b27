#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace realtime {

// A backend's command about every connection of one user (the server API), carried to every
// node like an event: each node applies it to the connections it holds.
struct UserCommand {
  enum class Kind { subscribe, unsubscribe, disconnect };
  Kind kind = Kind::disconnect;
  std::string user_id;
  std::string topic;   // subscribe, unsubscribe
  std::string reason;  // disconnect: the close frame's reason (at most 123 bytes)
};

std::string_view to_string(UserCommand::Kind kind);

// {"kind","user_id","topic"?,"reason"?,"node"}: what travels on `<prefix>control`. `node` is
// the sender, which applied the command already and skips its own echo.
std::string encode_user_command(const UserCommand& command, std::string_view node_id);
// Never throws; nullopt (and `error` says why) for anything malformed.
std::optional<UserCommand> decode_user_command(std::string_view json, std::string& node_id,
                                               std::string& error);

}  // namespace realtime
