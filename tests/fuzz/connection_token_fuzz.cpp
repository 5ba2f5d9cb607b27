// libFuzzer target: connection tokens. The whole input, as a token, must be refused without a
// crash (nobody can sign it); then the input's lines become a subject (user id, role, a grant,
// a connection expiry) whose issued token must verify to the same subject, expire on time, and
// stop verifying when any one byte of it changes.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "auth/connection_tokens.hpp"
#include "fuzz_support.hpp"
#include "ws/frame_codec.hpp"

using namespace realtime;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr int kTtl = 60;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const ConnectionTokens tokens(std::string(32, 'k'), kTtl);

  const auto forged = tokens.verify(text, kNow);
  FUZZ_CHECK(std::holds_alternative<AuthError>(forged));

  // Names, roles and grants reach issue() from JSON or the topic alphabet: UTF-8 only.
  if (ws::utf8_step(ws::utf8_accept, text) != ws::utf8_accept) return 0;
  const auto parts = fuzz::fields(text, 5);
  Subject subject{.user_id = std::string(parts[0]), .role = std::string(parts[1]), .grants = {}};
  if (!parts[2].empty()) subject.grants.emplace_back(parts[2]);
  std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), subject.expires_at);
  if (subject.expires_at < 0) subject.expires_at = 0;

  const std::string token = tokens.issue(subject, kNow);
  const auto verified = tokens.verify(token, kNow);
  FUZZ_CHECK(std::holds_alternative<ConnectionClaims>(verified));
  const ConnectionClaims& claims = std::get<ConnectionClaims>(verified);
  FUZZ_CHECK(claims.subject.user_id == subject.user_id && claims.subject.role == subject.role);
  FUZZ_CHECK(claims.subject.grants == subject.grants);
  FUZZ_CHECK(claims.subject.expires_at == subject.expires_at);
  FUZZ_CHECK(claims.expires_at == kNow + kTtl && claims.jti.size() == 32);

  // Past its exp (and the 5 s allowed between nodes' clocks) it is refused.
  const auto late = tokens.verify(token, kNow + kTtl + 5);
  FUZZ_CHECK(std::holds_alternative<AuthError>(late) &&
             std::get<AuthError>(late).reason == AuthFailure::expired);

  // Any change of one byte, at a place the input picks, is refused.
  std::string tampered = token;
  const std::size_t at = parts[4].empty() ? 0 : static_cast<unsigned char>(parts[4][0]) * 7919;
  const std::size_t i = at % tampered.size();
  tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
  FUZZ_CHECK(std::holds_alternative<AuthError>(tokens.verify(tampered, kNow)));
  return 0;
}
