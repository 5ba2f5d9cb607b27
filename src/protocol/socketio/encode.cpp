#include "protocol/socketio/encode.hpp"

#include "protocol/frame.hpp"
#include "protocol/socketio/packet.hpp"

namespace realtime::socketio {
namespace {

// The Engine.IO message type in front of a Socket.IO packet.
constexpr std::string_view message_prefix = "4";

std::size_t args_size(RawArgs args) {
  std::size_t size = 2 + args.size();
  for (auto a : args) size += a.size();
  return size;
}

void append_args(std::string& out, RawArgs args, bool leading_comma) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0 || leading_comma) out += ',';
    // An empty argument would leave invalid JSON: it stands for null.
    out += args[i].empty() ? std::string_view("null") : args[i];
  }
}

std::string connect(std::string_view prefix, std::string_view sid) {
  std::string out(prefix);
  out += "0{\"sid\":";
  append_json_string(out, sid);
  out += '}';
  return out;
}

std::string connect_error(std::string_view prefix, std::string_view nsp, std::string_view message,
                          std::string_view data_json) {
  std::string out(prefix);
  out += '4';
  if (!nsp.empty() && nsp != main_namespace) {
    out += nsp;
    out += ',';
  }
  out += "{\"message\":";
  append_json_string(out, message);
  if (!data_json.empty()) {
    out += ",\"data\":";
    out += data_json;
  }
  out += '}';
  return out;
}

std::string event(std::string_view prefix, std::string_view name, RawArgs args) {
  std::string out;
  out.reserve(prefix.size() + 3 + name.size() + args_size(args));
  out += prefix;
  out += "2[";
  append_json_string(out, name);
  append_args(out, args, true);
  out += ']';
  return out;
}

std::string ack(std::string_view prefix, std::uint64_t id, RawArgs args) {
  std::string out;
  out.reserve(prefix.size() + 21 + args_size(args));
  out += prefix;
  out += '3';
  out += std::to_string(id);
  out += '[';
  append_args(out, args, false);
  out += ']';
  return out;
}

RawArgs span_of(std::initializer_list<std::string_view> args) {
  return {args.begin(), args.size()};
}

}  // namespace

std::string encode_connect(std::string_view sid) { return connect({}, sid); }
std::string connect_message(std::string_view sid) { return connect(message_prefix, sid); }

std::string encode_connect_error(std::string_view nsp, std::string_view message,
                                 std::string_view data_json) {
  return connect_error({}, nsp, message, data_json);
}
std::string connect_error_message(std::string_view nsp, std::string_view message,
                                  std::string_view data_json) {
  return connect_error(message_prefix, nsp, message, data_json);
}

std::string unauthorized_message(std::string_view reason) {
  std::string data = "{\"reason\":";
  append_json_string(data, reason);
  data += '}';
  return connect_error_message(main_namespace, "unauthorized", data);
}

std::string invalid_namespace_message(std::string_view nsp) {
  return connect_error_message(nsp, "Invalid namespace");
}

std::string encode_disconnect() { return "1"; }
std::string disconnect_message() { return "41"; }

std::string encode_event(std::string_view name, RawArgs args) { return event({}, name, args); }
std::string encode_event(std::string_view name, std::initializer_list<std::string_view> args) {
  return event({}, name, span_of(args));
}
std::string event_message(std::string_view name, RawArgs args) {
  return event(message_prefix, name, args);
}
std::string event_message(std::string_view name, std::initializer_list<std::string_view> args) {
  return event(message_prefix, name, span_of(args));
}

std::string encode_ack(std::uint64_t id, RawArgs args) { return ack({}, id, args); }
std::string encode_ack(std::uint64_t id, std::initializer_list<std::string_view> args) {
  return ack({}, id, span_of(args));
}
std::string ack_message(std::uint64_t id, RawArgs args) { return ack(message_prefix, id, args); }
std::string ack_message(std::uint64_t id, std::initializer_list<std::string_view> args) {
  return ack(message_prefix, id, span_of(args));
}

}  // namespace realtime::socketio
