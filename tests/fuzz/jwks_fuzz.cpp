// libFuzzer target: a jwk_url's response, untrusted (the key server or whoever answers in its
// place). Lines: Cache-Control, Expires, Date, then the JWK Set document. The refresh time stays
// within its bounds whatever the headers say; the document parses or is refused, never throws;
// a parsed set holds usable keys only, and a key picked for an algorithm accepts it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "auth/jwks.hpp"
#include "auth/jwks_refresh.hpp"
#include "fuzz_support.hpp"

using namespace realtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = fuzz::fields(fuzz::as_text(data, size), 4);
  const JwksRefreshLimits limits;
  const auto fresh = jwks_fresh_for(f[0], f[1], f[2], 1'764'000'000, limits);
  FUZZ_CHECK(fresh >= limits.min && fresh <= limits.max);

  auto parsed = parse_jwk_set(f[3]);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!error->empty());
    return 0;
  }
  const JwkSet& set = std::get<JwkSet>(parsed);
  FUZZ_CHECK(!set.keys.empty());
  for (const Jwk& key : set.keys) FUZZ_CHECK(!key.pem.empty());
  const std::optional<std::string> kid = set.keys.front().kid;
  for (const auto alg : {JwtAlgorithm::RS256, JwtAlgorithm::RS512, JwtAlgorithm::ES256,
                         JwtAlgorithm::ES384, JwtAlgorithm::HS256}) {
    auto chosen = select_keys(set, alg, kid);
    if (auto* keys = std::get_if<std::vector<const Jwk*>>(&chosen)) {
      for (const Jwk* key : *keys) FUZZ_CHECK(key->accepts(alg));
    }
  }
  return 0;
}
