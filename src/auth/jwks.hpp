#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/jwt.hpp"

namespace realtime {

// A JSON Web Key Set (RFC 7517) as HASURA_GRAPHQL_JWT_SECRET's jwk_url serves it: the public
// keys that may have signed a Hasura JWT. Only signature keys we can verify are kept.
enum class JwkType { rsa, ec_p256, ec_p384 };

struct Jwk {
  std::optional<std::string> kid;
  JwkType type = JwkType::rsa;
  std::optional<JwtAlgorithm> alg;  // the key's "alg"; unset: any algorithm of its type
  std::string pem;                  // SubjectPublicKeyInfo PEM, what decode_verified() takes
  int bits = 0;

  // Whether a token whose header names `a` may be verified with this key (RFC 7518: RSA keys
  // sign RS*, a P-256 key ES256, a P-384 key ES384; a key's own "alg" narrows that to one).
  bool accepts(JwtAlgorithm a) const;
};

struct JwkSet {
  std::vector<Jwk> keys;
  std::vector<std::string> skipped;  // why each key left out was left out
};

// Untrusted input: never throws. Keys we cannot use (another kty or curve, an encryption key, an
// RSA modulus under 2048 bits, a point not on the curve, ...) are skipped with a reason; a
// document that is not a key set, or holds no usable key, is an error.
std::variant<JwkSet, std::string> parse_jwk_set(std::string_view document);

// The keys a token with this header may be verified with: the ones with its kid (or, without a
// kid, every key), narrowed to those that accept `alg`. unknown_key when no key has the kid,
// wrong_algorithm when keys exist but none is for `alg`.
std::variant<std::vector<const Jwk*>, AuthError> select_keys(const JwkSet& set, JwtAlgorithm alg,
                                                             const std::optional<std::string>& kid);

// What /health says about the key set.
struct JwksStatus {
  bool ok = false;                // the latest fetch succeeded
  std::int64_t last_success = 0;  // Unix seconds; 0: never
  std::int64_t last_attempt = 0;  // Unix seconds
  std::string last_error;         // of the latest fetch; empty when it succeeded
  std::size_t keys = 0;           // in the set in use
  std::int64_t next_refresh = 0;  // Unix seconds of the next scheduled fetch
};

// {"status":"ok"|"stale","keys":N,"last_success":T,"last_attempt":T,"next_refresh":T[,"last_error":S]}
std::string to_json(const JwksStatus& status);

// Where a jwk_url verifier gets its keys. Implemented by JwksFetcher (its own thread); tests use a
// fixed set.
class JwksSource {
 public:
  virtual ~JwksSource() = default;
  // The key set in use: an immutable snapshot, null before the first good fetch.
  virtual std::shared_ptr<const JwkSet> keys() const = 0;
  // A token named a kid the set lacks: fetch the set again, unless an unknown kid already caused
  // a fetch in the last 10 s. `done` (may be empty) runs exactly once, on any thread, when that
  // fetch ended, or at once, maybe inside this call, when there is none to wait for.
  virtual void refetch_for_unknown_kid(std::function<void()> done) = 0;
  virtual JwksStatus status() const = 0;
};

}  // namespace realtime
