#include "auth/hasura_jwt.hpp"

#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include "config/config.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

AuthError fail(AuthFailure reason, std::string message) { return {reason, std::move(message)}; }

// Follows a JSONPath of the simple form Hasura documents: $.a.b or $['a']['b.c'].
const json::value* at_path(const json::object& root, std::string_view path) {
  if (path.empty() || path.front() != '$') return nullptr;
  path.remove_prefix(1);
  const json::value* current = nullptr;
  const json::object* obj = &root;
  while (!path.empty()) {
    std::string key;
    if (path.front() == '.') {
      path.remove_prefix(1);
      auto end = path.find_first_of(".[");
      key = std::string(path.substr(0, end));
      path = end == path.npos ? std::string_view{} : path.substr(end);
    } else if (path.starts_with("['")) {
      auto end = path.find("']");
      if (end == path.npos) return nullptr;
      key = std::string(path.substr(2, end - 2));
      path.remove_prefix(end + 2);
    } else {
      return nullptr;
    }
    if (obj == nullptr) return nullptr;
    current = obj->if_contains(key);
    if (current == nullptr) return nullptr;
    obj = current->if_object();
  }
  return current;
}

}  // namespace

HasuraJwtConfig parse_hasura_jwt_secret(std::string_view value) {
  constexpr std::string_view var = "HASURA_GRAPHQL_JWT_SECRET";
  HasuraJwtConfig config;
  std::size_t first = value.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) throw ConfigError(std::string(var) + " is empty");
  if (value[first] != '{') {
    config.key = std::string(value);  // a plain string is an HS256 secret
    if (config.key.size() < 32)
      throw ConfigError(std::string(var) + ": an HMAC secret must be at least 32 bytes");
    return config;
  }
  json::error_code ec;
  json::value root = json::parse(value, ec);
  if (ec || !root.is_object()) {
    throw ConfigError(std::string(var) + " is not valid JSON: " + ec.message());
  }
  const json::object& obj = root.get_object();
  auto string_field = [&](std::string_view name) -> std::optional<std::string> {
    const json::value* v = obj.if_contains(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string())
      throw ConfigError(std::string(var) + ": \"" + std::string(name) + "\" must be a string");
    return std::string(v->get_string());
  };
  auto jwk_url = string_field("jwk_url");
  auto type = string_field("type");
  std::optional<JwtAlgorithm> alg;
  if (type) {
    alg = parse_jwt_algorithm(*type);
    if (!alg) {
      throw ConfigError(
          std::string(var) + ": \"type\" \"" + *type +
          "\" is not supported: expected HS256, HS384, HS512, RS256, RS384, RS512, ES256 or ES384");
    }
  }
  const bool hmac = alg && (*alg == JwtAlgorithm::HS256 || *alg == JwtAlgorithm::HS384 ||
                            *alg == JwtAlgorithm::HS512);
  if (jwk_url) {
    if (obj.contains("key")) {
      throw ConfigError(std::string(var) + ": give \"key\" or \"jwk_url\", not both");
    }
    auto url = boost::urls::parse_absolute_uri(*jwk_url);
    if (!url || (url->scheme() != "https" && url->scheme() != "http") || url->host().empty()) {
      throw ConfigError(std::string(var) + ": \"jwk_url\" must be an https:// (or http://) URL");
    }
    if (hmac) {
      throw ConfigError(std::string(var) + ": a jwk_url key set verifies RS256/384/512 and " +
                        "ES256/384 tokens; \"type\" " + *type + " needs a shared \"key\"");
    }
    config.jwk_url = *jwk_url;
    config.any_jwk_algorithm = !alg;
    if (alg) config.algorithm = *alg;
  } else {
    if (!type)
      throw ConfigError(std::string(var) +
                        ": \"type\" is required (HS256/384/512, RS256/384/512, ES256/384), or "
                        "\"jwk_url\"");
    config.algorithm = *alg;
    auto key = string_field("key");
    if (!key || key->empty()) throw ConfigError(std::string(var) + ": \"key\" is required");
    config.key = *key;
    if (!hmac && config.key.find("-----BEGIN") == std::string::npos) {
      throw ConfigError(std::string(var) +
                        ": \"key\" must be a PEM public key or certificate for " + *type);
    }
    if (hmac && config.key.size() < 32) {
      throw ConfigError(std::string(var) + ": an HMAC \"key\" must be at least 32 bytes");
    }
  }
  if (auto ns = string_field("claims_namespace")) config.claims_namespace = *ns;
  if (auto path = string_field("claims_namespace_path")) {
    if (path->empty() || path->front() != '$') {
      throw ConfigError(std::string(var) +
                        ": \"claims_namespace_path\" must be a JSONPath starting with $");
    }
    config.claims_namespace_path = *path;
  }
  if (auto format = string_field("claims_format")) {
    if (*format == "stringified_json")
      config.stringified_claims = true;
    else if (*format != "json")
      throw ConfigError(std::string(var) + ": \"claims_format\" must be json or stringified_json");
  }
  if (const json::value* aud = obj.if_contains("audience")) {
    if (aud->is_string()) {
      config.audience.emplace_back(aud->get_string());
    } else if (aud->is_array()) {
      for (const auto& a : aud->get_array()) {
        if (!a.is_string())
          throw ConfigError(std::string(var) + ": \"audience\" must hold strings");
        config.audience.emplace_back(a.get_string());
      }
    } else {
      throw ConfigError(std::string(var) +
                        ": \"audience\" must be a string or an array of strings");
    }
  }
  if (auto iss = string_field("issuer")) config.issuer = *iss;
  if (const json::value* skew = obj.if_contains("allowed_skew")) {
    if (!skew->is_number() || skew->to_number<double>() < 0 || skew->to_number<double>() > 86400) {
      throw ConfigError(std::string(var) +
                        ": \"allowed_skew\" must be a number of seconds in [0, 86400]");
    }
    config.allowed_skew = static_cast<std::int64_t>(skew->to_number<double>());
  }
  return config;
}

std::variant<json::object, AuthError> HasuraJwtVerifier::verified_by_jwks(
    std::string_view token) const {
  if (token.empty()) return fail(AuthFailure::missing_token, "no token given");
  const auto header = decode_jwt_header(token);
  if (!header) return fail(AuthFailure::malformed, "the JWT header is not base64url JSON");
  // Only what the configuration allows, whatever the token says: no HS* (an HMAC keyed with a
  // public key), no `none`.
  const auto alg = parse_jwt_algorithm(header->alg);
  const bool allowed = alg && (config_.any_jwk_algorithm
                                   ? *alg != JwtAlgorithm::HS256 && *alg != JwtAlgorithm::HS384 &&
                                         *alg != JwtAlgorithm::HS512
                                   : *alg == config_.algorithm);
  if (!allowed) {
    return fail(AuthFailure::wrong_algorithm,
                config_.any_jwk_algorithm
                    ? "the token must be signed with RS256, RS384, RS512, ES256 or ES384"
                    : "the token must be signed with " + std::string(to_string(config_.algorithm)));
  }
  const std::shared_ptr<const JwkSet> set = jwks_ ? jwks_->keys() : nullptr;
  if (!set) return fail(AuthFailure::unknown_key, "the jwk_url key set has not been fetched");
  auto keys = select_keys(*set, *alg, header->kid);
  if (auto* err = std::get_if<AuthError>(&keys)) return std::move(*err);
  AuthError last{AuthFailure::bad_signature, "the token's signature does not verify"};
  // Usually one key; a token without a kid is tried against each key of its algorithm.
  for (const Jwk* key : std::get<std::vector<const Jwk*>>(keys)) {
    auto decoded = decode_verified(token, *alg, key->pem);
    if (std::holds_alternative<json::object>(decoded)) return decoded;
    last = std::move(std::get<AuthError>(decoded));
  }
  return last;
}

std::variant<json::object, AuthError> HasuraJwtVerifier::verified_claims(
    std::string_view token) const {
  if (config_.jwk_url.empty()) return decode_verified(token, config_.algorithm, config_.key);
  return verified_by_jwks(token);
}

VerifyResult HasuraJwtVerifier::verify(std::string_view token, std::string_view role_header,
                                       std::int64_t now) const {
  auto decoded = verified_claims(token);
  if (auto* err = std::get_if<AuthError>(&decoded)) {
    if (err->reason == AuthFailure::unknown_key && jwks_) jwks_->refetch_for_unknown_kid({});
    return std::move(*err);
  }
  return identity(std::get<json::object>(decoded), role_header, now);
}

void HasuraJwtVerifier::verify_async(std::string token, std::string role_header, std::int64_t now,
                                     std::function<void(VerifyResult)> done) const {
  auto decoded = verified_claims(token);
  if (auto* err = std::get_if<AuthError>(&decoded)) {
    if (err->reason != AuthFailure::unknown_key || !jwks_) return done(std::move(*err));
    // The set may have rotated since it was fetched: look again once it has been refetched.
    // `this` outlives the source's callbacks: the server stops the fetcher first.
    jwks_->refetch_for_unknown_kid([this, token = std::move(token),
                                    role_header = std::move(role_header), now,
                                    done = std::move(done)] {
      auto again = verified_claims(token);
      if (auto* err = std::get_if<AuthError>(&again)) return done(std::move(*err));
      done(identity(std::get<json::object>(again), role_header, now));
    });
    return;
  }
  done(identity(std::get<json::object>(decoded), role_header, now));
}

VerifyResult HasuraJwtVerifier::identity(const json::object& claims, std::string_view role_header,
                                         std::int64_t now) const {
  if (auto err = check_time_claims(claims, now, config_.allowed_skew)) return std::move(*err);
  if (!config_.audience.empty()) {
    bool ok = false;
    const json::value* aud = claims.if_contains("aud");
    auto accepted = [&](std::string_view a) {
      for (const auto& want : config_.audience) {
        if (want == a) return true;
      }
      return false;
    };
    if (aud != nullptr && aud->is_string()) ok = accepted(aud->get_string());
    if (aud != nullptr && aud->is_array()) {
      for (const auto& a : aud->get_array()) ok = ok || (a.is_string() && accepted(a.get_string()));
    }
    if (!ok) return fail(AuthFailure::wrong_audience, "the token is not for this audience");
  }
  if (!config_.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != config_.issuer) {
      return fail(AuthFailure::wrong_issuer, "the token is from another issuer");
    }
  }

  // The Hasura claims object: at a JSONPath, or under the namespace key, maybe stringified.
  const json::value* ns = config_.claims_namespace_path.empty()
                              ? claims.if_contains(config_.claims_namespace)
                              : at_path(claims, config_.claims_namespace_path);
  json::value parsed_ns;
  if (ns != nullptr && ns->is_string() && config_.stringified_claims) {
    json::error_code ec;
    parsed_ns = json::parse(ns->get_string(), ec);
    ns = ec ? nullptr : &parsed_ns;
  }
  const json::object* hasura = ns != nullptr ? ns->if_object() : nullptr;

  Identity id;
  auto string_in = [](const json::object* obj, std::string_view name) -> std::string {
    if (obj == nullptr) return {};
    const json::value* v = obj->if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string{};
  };
  id.user_id = string_in(hasura, "x-hasura-user-id");
  if (id.user_id.empty()) id.user_id = string_in(&claims, "sub");
  if (id.user_id.empty()) {
    return fail(AuthFailure::missing_user_id, "the token names no user (x-hasura-user-id or sub)");
  }
  if (hasura != nullptr) {
    if (const json::value* roles = hasura->if_contains("x-hasura-allowed-roles");
        roles != nullptr && roles->is_array()) {
      for (const auto& r : roles->get_array()) {
        if (r.is_string()) id.allowed_roles.emplace_back(r.get_string());
      }
    }
  }
  // check_time_claims accepted exp as a number: the identity (and connections opened with it)
  // ends then.
  if (const json::value* exp = claims.if_contains("exp")) {
    if (exp->is_int64()) {
      id.expires_at = exp->get_int64();
    } else if (exp->is_uint64()) {
      id.expires_at = std::numeric_limits<std::int64_t>::max();
    } else if (exp->is_double() && exp->get_double() < 9.0e18) {
      id.expires_at = static_cast<std::int64_t>(exp->get_double());
    }
  }
  const std::string default_role = string_in(hasura, "x-hasura-default-role");
  id.role = default_role;
  for (const auto& r : id.allowed_roles) {
    if (!role_header.empty() && r == role_header) id.role = r;
  }
  return id;
}

}  // namespace realtime
