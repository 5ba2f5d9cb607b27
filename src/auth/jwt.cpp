#include "auth/jwt.hpp"

#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace json = boost::json;

namespace realtime {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

jwt_alg_t to_libjwt(JwtAlgorithm alg) {
  switch (alg) {
    case JwtAlgorithm::HS256:
      return JWT_ALG_HS256;
    case JwtAlgorithm::HS384:
      return JWT_ALG_HS384;
    case JwtAlgorithm::HS512:
      return JWT_ALG_HS512;
    case JwtAlgorithm::RS256:
      return JWT_ALG_RS256;
    case JwtAlgorithm::RS384:
      return JWT_ALG_RS384;
    case JwtAlgorithm::RS512:
      return JWT_ALG_RS512;
    case JwtAlgorithm::ES256:
      return JWT_ALG_ES256;
    case JwtAlgorithm::ES384:
      return JWT_ALG_ES384;
  }
  return JWT_ALG_INVAL;
}

// HMAC algorithms are checked here with one OpenSSL call: libjwt would parse the token again
// into its own JSON and cost several times more on every connect.
const EVP_MD* hmac_digest(JwtAlgorithm alg) {
  switch (alg) {
    case JwtAlgorithm::HS256:
      return EVP_sha256();
    case JwtAlgorithm::HS384:
      return EVP_sha384();
    case JwtAlgorithm::HS512:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

// OpenSSL 3's one-shot HMAC() fetches the algorithm and builds a context on every call: some
// thirty allocations, twice per connect with a token. Each thread keeps a keyed context per
// (digest, key) instead (a few: the token secret, a Hasura HS* secret) and re-initialises it.
class HmacContexts {
 public:
  ~HmacContexts() {
    for (auto& e : entries_) {
      EVP_MAC_CTX_free(e.ctx);
      OPENSSL_cleanse(e.key.data(), e.key.size());
    }
    EVP_MAC_free(mac_);
  }

  // A context ready for update(), or null when OpenSSL refuses.
  EVP_MAC_CTX* ready(const EVP_MD* md, std::string_view key) {
    for (auto& e : entries_) {
      if (e.md == md && e.key == key) {
        return EVP_MAC_init(e.ctx, nullptr, 0, nullptr) == 1 ? e.ctx : nullptr;
      }
    }
    if (mac_ == nullptr) mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac_ == nullptr) return nullptr;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac_);
    if (ctx == nullptr) return nullptr;
    static constexpr unsigned char empty = 0;  // OpenSSL refuses a null key even of length 0
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(EVP_MD_get0_name(md)), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx, key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    if (entries_.size() == max_entries) {  // keys come from the configuration: never many
      EVP_MAC_CTX_free(entries_.front().ctx);
      OPENSSL_cleanse(entries_.front().key.data(), entries_.front().key.size());
      entries_.erase(entries_.begin());
    }
    entries_.push_back({md, std::string(key), ctx});
    return ctx;
  }

 private:
  struct Entry {
    const EVP_MD* md;
    std::string key;
    EVP_MAC_CTX* ctx;
  };
  static constexpr std::size_t max_entries = 8;
  EVP_MAC* mac_ = nullptr;
  std::vector<Entry> entries_;
};

std::optional<std::string> hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  thread_local HmacContexts contexts;
  EVP_MAC_CTX* ctx = contexts.ready(md, key);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (ctx == nullptr ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &len, sizeof out) != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

AuthError fail(AuthFailure reason, std::string message) { return {reason, std::move(message)}; }

std::optional<json::object> decode_json_part(std::string_view part) {
  auto bytes = base64url_decode(part);
  if (!bytes) return std::nullopt;
  json::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// A NumericDate claim: absent (nullopt), a number (clamped to the int64 range), or garbage.
struct NumericClaim {
  bool present = false;
  bool valid = true;
  std::int64_t value = 0;
};

NumericClaim numeric_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return {};
  if (v->is_int64()) return {true, true, v->get_int64()};
  if (v->is_uint64()) {
    return {true, true,
            static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX))};
  }
  if (v->is_double()) {
    const double d = v->get_double();
    if (d != d) return {true, false, 0};  // NaN
    if (d >= 9.2e18) return {true, true, INT64_MAX};
    if (d <= -9.2e18) return {true, true, INT64_MIN};
    return {true, true, static_cast<std::int64_t>(d)};
  }
  return {true, false, 0};
}

}  // namespace

std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, JwtAlgorithm>, 8> table{{
      {"HS256", JwtAlgorithm::HS256},
      {"HS384", JwtAlgorithm::HS384},
      {"HS512", JwtAlgorithm::HS512},
      {"RS256", JwtAlgorithm::RS256},
      {"RS384", JwtAlgorithm::RS384},
      {"RS512", JwtAlgorithm::RS512},
      {"ES256", JwtAlgorithm::ES256},
      {"ES384", JwtAlgorithm::ES384},
  }};
  for (const auto& [n, a] : table) {
    if (n == name) return a;
  }
  return std::nullopt;
}

std::string_view to_string(JwtAlgorithm alg) {
  switch (alg) {
    case JwtAlgorithm::HS256:
      return "HS256";
    case JwtAlgorithm::HS384:
      return "HS384";
    case JwtAlgorithm::HS512:
      return "HS512";
    case JwtAlgorithm::RS256:
      return "RS256";
    case JwtAlgorithm::RS384:
      return "RS384";
    case JwtAlgorithm::RS512:
      return "RS512";
    case JwtAlgorithm::ES256:
      return "ES256";
    case JwtAlgorithm::ES384:
      return "ES384";
  }
  return "?";
}

std::string_view to_string(AuthFailure f) {
  switch (f) {
    case AuthFailure::missing_token:
      return "missing_token";
    case AuthFailure::malformed:
      return "malformed";
    case AuthFailure::bad_signature:
      return "bad_signature";
    case AuthFailure::wrong_algorithm:
      return "wrong_algorithm";
    case AuthFailure::expired:
      return "expired";
    case AuthFailure::not_yet_valid:
      return "not_yet_valid";
    case AuthFailure::wrong_audience:
      return "wrong_audience";
    case AuthFailure::wrong_issuer:
      return "wrong_issuer";
    case AuthFailure::missing_user_id:
      return "missing_user_id";
    case AuthFailure::replayed:
      return "replayed";
    case AuthFailure::unknown_key:
      return "unknown_key";
  }
  return "malformed";
}

std::optional<std::string> base64url_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string base64url_encode(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::optional<JwtHeader> decode_jwt_header(std::string_view token) {
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == token.npos ? token.npos : token.find('.', dot1 + 1);
  if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos) return std::nullopt;
  auto header = decode_json_part(token.substr(0, dot1));
  if (!header) return std::nullopt;
  JwtHeader out;
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return std::nullopt;
  out.alg = std::string(alg->get_string());
  if (const json::value* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return std::nullopt;
    out.kid = std::string(kid->get_string());
  }
  return out;
}

std::variant<json::object, AuthError> decode_verified(std::string_view token, JwtAlgorithm alg,
                                                      std::string_view key) {
  if (token.empty()) return fail(AuthFailure::missing_token, "no token given");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == token.npos ? token.npos : token.find('.', dot1 + 1);
  if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos) {
    return fail(AuthFailure::malformed, "a JWT has three dot-separated parts");
  }
  auto header = decode_json_part(token.substr(0, dot1));
  if (!header) return fail(AuthFailure::malformed, "the JWT header is not base64url JSON");
  auto payload = decode_json_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return fail(AuthFailure::malformed, "the JWT payload is not base64url JSON");
  const auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature) return fail(AuthFailure::malformed, "the JWT signature is not base64url");
  const json::value* header_alg = header->if_contains("alg");
  if (header_alg == nullptr || !header_alg->is_string() ||
      header_alg->get_string() != to_string(alg)) {
    return fail(AuthFailure::wrong_algorithm,
                "the token must be signed with " + std::string(to_string(alg)));
  }
  if (const EVP_MD* md = hmac_digest(alg)) {
    // Compared as text: base64url has several spellings of the same bytes (the unused bits of
    // the last character), and only the canonical one is the token that was signed.
    const auto expected = hmac(md, key, token.substr(0, dot2));
    const std::string expected_text = expected ? base64url_encode(*expected) : std::string();
    const std::string_view signature_text = token.substr(dot2 + 1);
    if (!expected || expected_text.size() != signature_text.size() ||
        CRYPTO_memcmp(expected_text.data(), signature_text.data(), expected_text.size()) != 0) {
      return fail(AuthFailure::bad_signature, "the token's signature does not verify");
    }
    return std::move(*payload);
  }
  jwt_t* raw = nullptr;
  const std::string token_z(token);
  const int rc =
      jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                 static_cast<int>(key.size()));
  JwtPtr decoded(raw);
  // The structure was checked above, so libjwt refusing the token means the signature.
  if (rc != 0 || !decoded || jwt_get_alg(decoded.get()) != to_libjwt(alg)) {
    return fail(AuthFailure::bad_signature, "the token's signature does not verify");
  }
  return std::move(*payload);
}

std::optional<AuthError> check_time_claims(const json::object& claims, std::int64_t now,
                                           std::int64_t skew) {
  const auto exp = numeric_claim(claims, "exp");
  const auto nbf = numeric_claim(claims, "nbf");
  const auto iat = numeric_claim(claims, "iat");
  if (!exp.valid || !nbf.valid || !iat.valid) {
    return fail(AuthFailure::malformed, "exp, nbf and iat must be numbers (NumericDate)");
  }
  // Written as `now - skew` / `now + skew` so a huge claim can't overflow; `now` is a real time.
  if (exp.present && now - skew >= exp.value) {  // RFC 7519: now must be before exp
    return fail(AuthFailure::expired, "the token has expired");
  }
  if (nbf.present && nbf.value > now + skew) {
    return fail(AuthFailure::not_yet_valid, "the token is not valid yet (nbf)");
  }
  if (iat.present && iat.value > now + skew) {
    return fail(AuthFailure::not_yet_valid, "the token was issued in the future (iat)");
  }
  return std::nullopt;
}

std::string sign_hs256(const json::object& claims, std::string_view secret) {
  static const std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  std::string token = header + '.' + base64url_encode(json::serialize(claims));
  const auto signature = hmac(EVP_sha256(), secret, token);
  if (!signature) throw std::runtime_error("HMAC-SHA256 failed");
  token += '.';
  token += base64url_encode(*signature);
  return token;
}

}  // namespace realtime
