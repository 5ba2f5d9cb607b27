#include "auth/jwks.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace json = boost::json;

namespace realtime {
namespace {

// More keys than any provider publishes (they hold two or three); bounds the work of a document.
constexpr std::size_t max_keys = 64;
constexpr int min_rsa_bits = 2048;
constexpr int max_rsa_bits = 16384;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The key as OpenSSL sees it, or why it isn't one. OpenSSL checks the numbers: we only move them.
struct Built {
  PkeyPtr key;
  std::string error;
};

Built build_key(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return {nullptr, "not a valid public key (OpenSSL refuses its numbers)"};
  }
  PkeyPtr key(raw);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return {nullptr, "not a valid public key (OpenSSL's public key check)"};
  }
  return {std::move(key), {}};
}

std::optional<std::string> to_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return std::nullopt;
  return std::string(data, static_cast<std::size_t>(len));
}

// A base64url member of a key (RFC 7518 §6); some servers pad, which the RFC forbids but is
// harmless.
std::optional<std::string> bytes_member(const json::object& key, std::string_view name) {
  const json::value* v = key.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  std::string_view text = v->get_string();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  auto bytes = base64url_decode(text);
  if (!bytes || bytes->empty()) return std::nullopt;
  return bytes;
}

std::optional<std::string> string_member(const json::object& key, std::string_view name) {
  const json::value* v = key.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

BIGNUM* to_bn(const std::string& bytes) {
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                   static_cast<int>(bytes.size()), nullptr);
}

Built rsa_key(const json::object& key) {
  auto n = bytes_member(key, "n");
  auto e = bytes_member(key, "e");
  if (!n || !e) return {nullptr, "an RSA key needs base64url \"n\" and \"e\""};
  if (n->size() * 8 > max_rsa_bits + 8 || e->size() > 64) {
    return {nullptr, "RSA numbers out of range"};
  }
  std::unique_ptr<BIGNUM, BnFree> bn_n(to_bn(*n));
  std::unique_ptr<BIGNUM, BnFree> bn_e(to_bn(*e));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    ERR_clear_error();
    return {nullptr, "out of memory"};
  }
  return build_key("RSA", bld.get());
}

Built ec_key(const json::object& key, JwkType type) {
  const std::size_t size = type == JwkType::ec_p256 ? 32 : 48;
  auto x = bytes_member(key, "x");
  auto y = bytes_member(key, "y");
  // RFC 7518 §6.2.1.2: the coordinates are exactly the field size, leading zeros kept.
  if (!x || !y || x->size() != size || y->size() != size) {
    return {nullptr,
            "an EC key needs base64url \"x\" and \"y\" of " + std::to_string(size) + " bytes each"};
  }
  const std::string point = '\x04' + *x + *y;  // uncompressed SEC1 point
  const char* group = type == JwkType::ec_p256 ? "prime256v1" : "secp384r1";
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    ERR_clear_error();
    return {nullptr, "out of memory"};
  }
  return build_key("EC", bld.get());
}

std::string describe_key(std::size_t index, const std::optional<std::string>& kid) {
  std::string out = "key " + std::to_string(index);
  // The kid is the document's: quoted and cut short for the logs.
  if (kid) out += " (kid " + json::serialize(json::value(kid->substr(0, 64))) + ")";
  return out;
}

// One entry of "keys": a usable key, or why it is not one.
std::variant<Jwk, std::string> parse_key(const json::value& entry) {
  const json::object* key = entry.if_object();
  if (key == nullptr) return std::string("not a JSON object");
  Jwk out;
  if (const json::value* kid = key->if_contains("kid")) {
    if (!kid->is_string()) return std::string("\"kid\" is not a string");
    out.kid = std::string(kid->get_string());
  }
  if (const json::value* use = key->if_contains("use");
      use != nullptr && !(use->is_string() && use->get_string() == "sig")) {
    return std::string("not a signature key (\"use\" is not \"sig\")");
  }
  if (const json::value* alg = key->if_contains("alg")) {
    std::optional<JwtAlgorithm> parsed;
    if (alg->is_string()) parsed = parse_jwt_algorithm(alg->get_string());
    if (!parsed || *parsed == JwtAlgorithm::HS256 || *parsed == JwtAlgorithm::HS384 ||
        *parsed == JwtAlgorithm::HS512) {
      return std::string("\"alg\" is not one of RS256, RS384, RS512, ES256, ES384");
    }
    out.alg = parsed;
  }
  const auto kty = string_member(*key, "kty");
  if (!kty) return std::string("\"kty\" is missing");
  Built built;
  if (*kty == "RSA") {
    out.type = JwkType::rsa;
    built = rsa_key(*key);
  } else if (*kty == "EC") {
    const auto crv = string_member(*key, "crv");
    if (crv == "P-256") {
      out.type = JwkType::ec_p256;
    } else if (crv == "P-384") {
      out.type = JwkType::ec_p384;
    } else {
      return std::string("EC curve is not P-256 or P-384");
    }
    built = ec_key(*key, out.type);
  } else {
    return "kty \"" + kty->substr(0, 16) + "\" is not supported (RSA or EC)";
  }
  if (!built.key) return built.error;
  if (out.alg && !out.accepts(*out.alg)) {
    return std::string("\"alg\" does not fit the key's type");
  }
  out.bits = EVP_PKEY_get_bits(built.key.get());
  if (out.type == JwkType::rsa && (out.bits < min_rsa_bits || out.bits > max_rsa_bits)) {
    return "an RSA modulus of " + std::to_string(out.bits) + " bits (2048 to 16384 accepted)";
  }
  auto pem = to_pem(built.key.get());
  if (!pem) return std::string("cannot encode the key as PEM");
  out.pem = std::move(*pem);
  return out;
}

}  // namespace

bool Jwk::accepts(JwtAlgorithm a) const {
  if (alg && *alg != a) return false;
  switch (type) {
    case JwkType::rsa:
      return a == JwtAlgorithm::RS256 || a == JwtAlgorithm::RS384 || a == JwtAlgorithm::RS512;
    case JwkType::ec_p256:
      return a == JwtAlgorithm::ES256;
    case JwkType::ec_p384:
      return a == JwtAlgorithm::ES384;
  }
  return false;
}

std::variant<JwkSet, std::string> parse_jwk_set(std::string_view document) {
  json::error_code ec;
  const json::value root = json::parse(document, ec);
  if (ec) return "not JSON: " + ec.message();
  const json::object* obj = root.if_object();
  const json::value* keys = obj != nullptr ? obj->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return std::string("not a JWK Set: expected {\"keys\":[...]}");
  }
  JwkSet set;
  std::size_t index = 0;
  for (const json::value& entry : keys->get_array()) {
    if (index == max_keys) {
      set.skipped.push_back("keys after the first " + std::to_string(max_keys) + " are ignored");
      break;
    }
    auto key = parse_key(entry);
    if (auto* reason = std::get_if<std::string>(&key)) {
      const json::object* o = entry.if_object();
      const json::value* kid = o != nullptr ? o->if_contains("kid") : nullptr;
      set.skipped.push_back(describe_key(index, kid != nullptr && kid->is_string()
                                                    ? std::optional<std::string>(kid->get_string())
                                                    : std::nullopt) +
                            ": " + *reason);
    } else {
      set.keys.push_back(std::move(std::get<Jwk>(key)));
    }
    ++index;
  }
  if (set.keys.empty()) {
    std::string why = "no usable signing key (RSA 2048+ or EC P-256/P-384)";
    for (const auto& s : set.skipped) why += "; " + s;
    return why;
  }
  return set;
}

std::variant<std::vector<const Jwk*>, AuthError> select_keys(
    const JwkSet& set, JwtAlgorithm alg, const std::optional<std::string>& kid) {
  std::vector<const Jwk*> out;
  bool kid_known = false;
  for (const auto& key : set.keys) {
    if (kid && key.kid != kid) continue;
    kid_known = true;
    if (key.accepts(alg)) out.push_back(&key);
  }
  if (!kid_known) {
    return AuthError{AuthFailure::unknown_key, "the token's kid is not in the key set (jwk_url)"};
  }
  if (out.empty()) {
    return AuthError{AuthFailure::wrong_algorithm,
                     kid ? "the key the token names is not for " + std::string(to_string(alg))
                         : "the key set has no key for " + std::string(to_string(alg))};
  }
  return out;
}

std::string to_json(const JwksStatus& status) {
  json::object o;
  o["status"] = status.ok ? "ok" : "stale";
  o["keys"] = status.keys;
  o["last_success"] = status.last_success;
  o["last_attempt"] = status.last_attempt;
  o["next_refresh"] = status.next_refresh;
  if (!status.last_error.empty()) o["last_error"] = status.last_error;
  return json::serialize(o);
}

}  // namespace realtime
