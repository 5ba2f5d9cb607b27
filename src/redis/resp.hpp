#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;
struct redisReply;

namespace realtime {

// RESP2 command encoding: appends `*N\r\n$len\r\narg\r\n…` straight into a write buffer, so a
// pipelined batch of commands costs no allocation per command. (hiredis' formatter would malloc
// each command into its own buffer first.)
void append_command(std::string& out, std::initializer_list<std::string_view> args);
void append_command(std::string& out, const std::vector<std::string_view>& args);

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// RESP parsing by hiredis' reader (sans-io): bytes in, complete replies out.
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  void feed(std::string_view bytes);
  // The next complete reply; nullptr when more bytes are needed. `error` is set (and the
  // stream is unusable) on a protocol error.
  ReplyPtr next(std::string& error);

 private:
  redisReader* reader_;
};

// Reading a reply without hiredis' types everywhere.
std::string_view reply_string(const redisReply& r);  // string, status or error text
bool reply_is_error(const redisReply& r);
bool reply_is_array(const redisReply& r);
bool reply_is_integer(const redisReply& r);
long long reply_integer(const redisReply& r);
std::size_t reply_size(const redisReply& r);  // array elements
const redisReply& reply_at(const redisReply& r, std::size_t i);

// The SHA-1 (hex) Redis names a Lua script by, for EVALSHA.
std::string script_sha1(std::string_view script);

}  // namespace realtime
