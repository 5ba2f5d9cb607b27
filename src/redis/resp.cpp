#include "redis/resp.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <charconv>

namespace realtime {
namespace {

void append_number(std::string& out, char type, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out += type;
  out.append(digits, end);
  out += "\r\n";
}

template <typename Args>
void append_args(std::string& out, const Args& args) {
  append_number(out, '*', args.size());
  for (std::string_view a : args) {
    append_number(out, '$', a.size());
    out.append(a);
    out += "\r\n";
  }
}

}  // namespace

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_args(out, args);
}

void append_command(std::string& out, const std::vector<std::string_view>& args) {
  append_args(out, args);
}

void ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

ReplyReader::ReplyReader() : reader_(redisReaderCreate()) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

void ReplyReader::feed(std::string_view bytes) {
  redisReaderFeed(reader_, bytes.data(), bytes.size());
}

ReplyPtr ReplyReader::next(std::string& error) {
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
    error = reader_->errstr[0] != '\0' ? reader_->errstr : "RESP protocol error";
    return nullptr;
  }
  return ReplyPtr(static_cast<redisReply*>(reply));
}

std::string_view reply_string(const redisReply& r) {
  if (r.str == nullptr) return {};
  return {r.str, r.len};
}

bool reply_is_error(const redisReply& r) { return r.type == REDIS_REPLY_ERROR; }
bool reply_is_array(const redisReply& r) { return r.type == REDIS_REPLY_ARRAY; }
bool reply_is_integer(const redisReply& r) { return r.type == REDIS_REPLY_INTEGER; }
long long reply_integer(const redisReply& r) { return r.integer; }
std::size_t reply_size(const redisReply& r) { return r.type == REDIS_REPLY_ARRAY ? r.elements : 0; }
const redisReply& reply_at(const redisReply& r, std::size_t i) { return *r.element[i]; }

std::string script_sha1(std::string_view script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(script.data(), script.size(), digest, &size, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace realtime
