#include "signing_keys.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <stdexcept>

#include "auth/jwt.hpp"

namespace json = boost::json;

namespace realtime::testing {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string bn_param(EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no key parameter");
  std::string out(
      pad_to > 0 ? static_cast<std::size_t>(pad_to) : static_cast<std::size_t>(BN_num_bytes(bn)),
      '\0');
  if (pad_to > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad_to);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  BN_free(bn);
  return base64url_encode(out);
}

}  // namespace

struct SigningKey::Impl {
  KeyKind kind;
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

SigningKey::SigningKey(KeyKind kind) : impl_(std::make_unique<Impl>()) {
  impl_->kind = kind;
  switch (kind) {
    case KeyKind::rsa2048:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case KeyKind::rsa1024:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
      break;
    case KeyKind::p256:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyKind::p384:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
  }
  if (impl_->key == nullptr) throw std::runtime_error("OpenSSL could not make a key");
}

SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

json::object SigningKey::Jwk(std::optional<std::string> kid, std::optional<std::string> alg,
                             std::optional<std::string> use) const {
  json::object o;
  if (impl_->kind == KeyKind::rsa2048 || impl_->kind == KeyKind::rsa1024) {
    o["kty"] = "RSA";
    o["n"] = bn_param(impl_->key, OSSL_PKEY_PARAM_RSA_N);
    o["e"] = bn_param(impl_->key, OSSL_PKEY_PARAM_RSA_E);
  } else {
    const bool p256 = impl_->kind == KeyKind::p256;
    o["kty"] = "EC";
    o["crv"] = p256 ? "P-256" : "P-384";
    o["x"] = bn_param(impl_->key, OSSL_PKEY_PARAM_EC_PUB_X, p256 ? 32 : 48);
    o["y"] = bn_param(impl_->key, OSSL_PKEY_PARAM_EC_PUB_Y, p256 ? 32 : 48);
  }
  if (kid) o["kid"] = *kid;
  if (alg) o["alg"] = *alg;
  if (use) o["use"] = *use;
  return o;
}

std::string SigningKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, impl_->key);
  std::string out = bio_text(bio);
  BIO_free(bio);
  return out;
}

std::string SigningKey::Sign(const json::object& claims, std::string_view alg,
                             std::optional<std::string> kid) const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, impl_->key, nullptr, nullptr, 0, nullptr, nullptr);
  const std::string pem = bio_text(bio);
  BIO_free(bio);
  jwt_t* jwt = nullptr;
  if (jwt_new(&jwt) != 0) throw std::runtime_error("jwt_new");
  const std::string alg_z(alg);
  int rc = jwt_add_grants_json(jwt, json::serialize(claims).c_str());
  if (rc == 0 && kid) rc = jwt_add_header(jwt, "kid", kid->c_str());
  if (rc == 0) {
    rc = jwt_set_alg(jwt, jwt_str_alg(alg_z.c_str()),
                     reinterpret_cast<const unsigned char*>(pem.data()),
                     static_cast<int>(pem.size()));
  }
  char* text = rc == 0 ? jwt_encode_str(jwt) : nullptr;
  jwt_free(jwt);
  if (text == nullptr) throw std::runtime_error("libjwt could not sign with " + alg_z);
  std::string token(text);
  free(text);
  return token;
}

std::string JwkSetJson(const std::vector<json::object>& keys) {
  json::array array;
  for (const auto& k : keys) array.push_back(k);
  return json::serialize(json::object{{"keys", std::move(array)}});
}

std::string HmacToken(std::string_view header_json, const json::object& claims,
                      std::string_view key) {
  std::string token =
      base64url_encode(header_json) + '.' + base64url_encode(json::serialize(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &len);
  return token + '.' + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len));
}

json::object HasuraClaims(const std::string& user, std::int64_t now) {
  json::object claims;
  claims["sub"] = user;
  claims["iat"] = now - 10;
  claims["exp"] = now + 3600;
  json::object hasura;
  hasura["x-hasura-user-id"] = user;
  hasura["x-hasura-default-role"] = "user";
  hasura["x-hasura-allowed-roles"] = json::array{"user", "admin"};
  claims["https://hasura.io/jwt/claims"] = std::move(hasura);
  return claims;
}

}  // namespace realtime::testing
