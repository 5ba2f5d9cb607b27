#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace realtime {

enum class JwtAlgorithm { HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384 };

std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name);
std::string_view to_string(JwtAlgorithm alg);

// Why a token was refused; each is named in the 401 body.
enum class AuthFailure {
  missing_token,
  malformed,
  bad_signature,
  wrong_algorithm,
  expired,
  not_yet_valid,
  wrong_audience,
  wrong_issuer,
  missing_user_id,
  replayed,
  unknown_key,  // jwk_url: the token's kid is not in the key set
};

std::string_view to_string(AuthFailure f);

struct AuthError {
  AuthFailure reason = AuthFailure::malformed;
  std::string message;
};

std::optional<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view in);

// The JOSE header fields key selection needs. Nothing here is verified yet.
struct JwtHeader {
  std::string alg;
  std::optional<std::string> kid;
};

// The decoded header of a compact JWT; nullopt when the token has not three parts, the header is
// not base64url JSON, or `alg` / `kid` are not strings.
std::optional<JwtHeader> decode_jwt_header(std::string_view token);

// Checks the token's structure, that its header names exactly `alg` (the algorithm comes from
// our configuration, never from the token: `none` and HS/RS confusion fail here), then verifies
// the signature: HS* with OpenSSL's HMAC (constant-time compare), RS*/ES* with libjwt. Returns the
// payload. Claims (exp, aud, ...) are the caller's job.
std::variant<boost::json::object, AuthError> decode_verified(std::string_view token,
                                                             JwtAlgorithm alg,
                                                             std::string_view key);

// Registered-claim checks shared by every token kind: exp, nbf, iat, each with `skew` seconds of
// tolerance; `now` in Unix seconds.
std::optional<AuthError> check_time_claims(const boost::json::object& claims, std::int64_t now,
                                           std::int64_t skew);

// Signs `claims` with HS256 (header {"alg":"HS256","typ":"JWT"}). Throws std::runtime_error if
// OpenSSL fails, which only an allocation failure makes it do.
std::string sign_hs256(const boost::json::object& claims, std::string_view secret);

}  // namespace realtime
