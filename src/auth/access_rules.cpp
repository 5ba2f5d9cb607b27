#include "auth/access_rules.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "config/config.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

std::vector<std::string_view> segments(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    auto colon = s.find(':', pos);
    out.push_back(s.substr(pos, colon == std::string_view::npos ? s.npos : colon - pos));
    if (colon == std::string_view::npos) return out;
    pos = colon + 1;
  }
}

bool role_listed(const std::vector<std::string>& roles, std::string_view role) {
  for (const auto& r : roles) {
    if (r == "*" || r == role) return true;
  }
  return false;
}

void validate_pattern(const std::string& pattern, const std::string& where) {
  if (pattern.empty()) throw ConfigError(where + ": \"match\" must not be empty");
  auto segs = segments(pattern);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].empty()) throw ConfigError(where + ": \"" + pattern + "\" has an empty segment");
    if (segs[i] == "**" && i + 1 != segs.size()) {
      throw ConfigError(where + ": \"" + pattern + "\": ** may only be the last segment");
    }
  }
}

}  // namespace

bool AccessRules::matches(std::string_view pattern, std::string_view topic,
                          std::string_view user_id) {
  const auto p = segments(pattern);
  const auto t = segments(topic);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == "**") return t.size() > i;  // one or more segments left
    if (i >= t.size()) return false;
    if (p[i] == "{user_id}") {
      if (user_id.empty() || t[i] != user_id) return false;
    } else if (p[i] != "*" && p[i] != t[i]) {
      return false;
    }
  }
  return p.size() == t.size();
}

AccessRules AccessRules::parse(std::string_view text, std::string_view source) {
  const std::string src(source);
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) throw ConfigError(src + " is not valid JSON: " + ec.message());
  const json::object* obj = root.if_object();
  const json::value* topics = obj != nullptr ? obj->if_contains("topics") : nullptr;
  if (topics == nullptr || !topics->is_array()) {
    throw ConfigError(src +
                      ": expected {\"topics\": [ {\"match\": ..., \"subscribe\": [roles], ...} ]}");
  }
  AccessRules rules;
  for (std::size_t i = 0; i < topics->get_array().size(); ++i) {
    const std::string where = src + ": topics[" + std::to_string(i) + "]";
    const json::object* r = topics->get_array()[i].if_object();
    if (r == nullptr) throw ConfigError(where + " must be an object");
    Rule rule;
    const json::value* match = r->if_contains("match");
    if (match == nullptr || !match->is_string()) {
      throw ConfigError(where + ": \"match\" is required and must be a string");
    }
    rule.match = std::string(match->get_string());
    validate_pattern(rule.match, where);
    for (const auto& [key, value] : *r) {
      std::vector<std::string>* list = nullptr;
      if (key == "match") continue;
      if (key == "subscribe")
        list = &rule.subscribe;
      else if (key == "publish")
        list = &rule.publish;
      else if (key == "typing")
        list = &rule.typing;
      else if (key == "presence")
        list = &rule.presence;
      else {
        throw ConfigError(where + ": unknown key \"" + std::string(key) +
                          "\" (expected match, subscribe, publish, typing, presence)");
      }
      const json::array* roles = value.if_array();
      if (roles == nullptr)
        throw ConfigError(where + ": \"" + std::string(key) + "\" must be an array of roles");
      for (const auto& role : *roles) {
        if (!role.is_string() || role.get_string().empty()) {
          throw ConfigError(where + ": \"" + std::string(key) +
                            "\" must hold non-empty role names");
        }
        list->emplace_back(role.get_string());
      }
    }
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

AccessRules AccessRules::defaults() { return parse(default_rules_json, "built-in rules"); }

bool AccessRules::allowed(TopicAction action, std::string_view topic,
                          const Subject& subject) const {
  for (const auto& grant : subject.grants) {
    if (matches(grant, topic, subject.user_id)) return true;
  }
  for (const auto& rule : rules_) {
    if (!matches(rule.match, topic, subject.user_id)) continue;
    switch (action) {
      case TopicAction::subscribe:
        return role_listed(rule.subscribe, subject.role);
      case TopicAction::publish:
        return role_listed(rule.publish, subject.role);
      case TopicAction::typing:
        return role_listed(rule.typing, subject.role);
      case TopicAction::presence:
        return role_listed(rule.presence, subject.role);
    }
  }
  return false;
}

}  // namespace realtime
