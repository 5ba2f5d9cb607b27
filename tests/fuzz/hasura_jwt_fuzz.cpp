// libFuzzer target: HASURA_GRAPHQL_JWT_SECRET and the verification of Hasura JWTs. Input lines:
// the secret's value, a JWT payload (any bytes), an X-Hasura-Role header, and a raw token. The
// secret must parse or be refused with a ConfigError; when it is an HMAC secret the payload is
// signed with it, so the claims logic (times, audience, issuer, namespace path, stringified
// claims, roles) runs on every input, and the verdict may be anything but a bad signature. The
// raw token is verified too. Whatever verifies must be a sane identity.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "auth/hasura_jwt.hpp"
#include "config/config.hpp"
#include "fuzz_support.hpp"

using namespace realtime;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

const EVP_MD* digest(JwtAlgorithm alg) {
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

// A token over `payload` (raw bytes, not necessarily JSON) signed as the secret says.
std::string sign(const HasuraJwtConfig& config, const EVP_MD* md, std::string_view payload) {
  std::string token = base64url_encode(R"({"alg":")" + std::string(to_string(config.algorithm)) +
                                       R"(","typ":"JWT"})");
  token += '.';
  token += base64url_encode(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, config.key.data(), static_cast<int>(config.key.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &len);
  token += '.';
  token += base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
  return token;
}

void check_identity(const VerifyResult& result, const HasuraJwtConfig& config,
                    std::string_view role) {
  if (const auto* err = std::get_if<AuthError>(&result)) {
    FUZZ_CHECK(!err->message.empty());
    return;
  }
  const Identity& id = std::get<Identity>(result);
  FUZZ_CHECK(!id.user_id.empty());
  // The X-Hasura-Role header picks the role only among the allowed ones.
  const auto& allowed = id.allowed_roles;
  if (!role.empty() && std::find(allowed.begin(), allowed.end(), role) != allowed.end()) {
    FUZZ_CHECK(id.role == role);
  }
  // A token that verified has not expired.
  FUZZ_CHECK(id.expires_at == 0 || id.expires_at > kNow - config.allowed_skew);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::fields(fuzz::as_text(data, size), 4);
  const std::string_view payload = parts[1], role = parts[2], raw = parts[3];

  const auto decoded = base64url_decode(base64url_encode(payload));
  FUZZ_CHECK(decoded && *decoded == payload);

  std::optional<HasuraJwtConfig> parsed;
  try {
    parsed = parse_hasura_jwt_secret(parts[0]);
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).starts_with("HASURA_GRAPHQL_JWT_SECRET"));
  }
  const HasuraJwtConfig config =
      parsed.value_or(parse_hasura_jwt_secret(R"({"type":"HS256","key":")" + std::string(32, 'k') +
                                              R"(","claims_namespace_path":"$.h.c"})"));
  const HasuraJwtVerifier verifier(config);

  // A raw token verifies only when it is one the secret signed (a seed's): then it is a sane
  // identity like any other.
  check_identity(verifier.verify(raw, role, kNow), config, role);

  // RS/ES, or a jwk_url's key set (fetched, so none here): nothing here can sign.
  const EVP_MD* md = config.jwk_url.empty() ? digest(config.algorithm) : nullptr;
  if (md == nullptr) return 0;
  const auto result = verifier.verify(sign(config, md, payload), role, kNow);
  if (const auto* err = std::get_if<AuthError>(&result)) {
    FUZZ_CHECK(err->reason != AuthFailure::bad_signature &&
               err->reason != AuthFailure::wrong_algorithm);
  }
  check_identity(result, config, role);
  return 0;
}
