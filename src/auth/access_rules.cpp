#include "auth/access_rules.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>

#include "broker/history_types.hpp"
#include "config/config.hpp"

namespace json = boost::json;

namespace realtime {
namespace {

// Walks a topic or pattern one ':'-separated segment at a time: matching runs on every
// subscribe, publish and presence event, and must not allocate.
class SegmentCursor {
 public:
  explicit SegmentCursor(std::string_view s) : rest_(s) {}
  bool done() const { return done_; }
  std::string_view next() {
    const auto colon = rest_.find(':');
    const std::string_view seg = rest_.substr(0, colon);
    if (colon == std::string_view::npos) {
      done_ = true;
    } else {
      rest_.remove_prefix(colon + 1);
    }
    return seg;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

// The segments at once, for checking a pattern when the rules are loaded.
std::vector<std::string_view> segments(std::string_view s) {
  std::vector<std::string_view> out;
  for (SegmentCursor c(s); !c.done();) out.push_back(c.next());
  return out;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool role_listed(const std::vector<std::string>& roles, std::string_view role) {
  for (const auto& r : roles) {
    if (r == "*" || r == role) return true;
  }
  return false;
}

// The built-in parameters every check may use besides the pattern's captures.
constexpr std::string_view builtin_params[] = {"user_id", "role", "topic"};

std::vector<std::string> validate_pattern(const std::string& pattern, const std::string& where) {
  if (pattern.empty()) throw ConfigError(where + ": \"match\" must not be empty");
  std::vector<std::string> captures;
  auto segs = segments(pattern);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const std::string_view seg = segs[i];
    if (seg.empty()) throw ConfigError(where + ": \"" + pattern + "\" has an empty segment");
    if (seg == "**" && i + 1 != segs.size()) {
      throw ConfigError(where + ": \"" + pattern + "\": ** may only be the last segment");
    }
    if (seg.find_first_of("{}") == std::string_view::npos) continue;
    const std::string_view name = is_capture(seg) ? seg.substr(1, seg.size() - 2) : "";
    if (!is_valid_param_name(name)) {
      throw ConfigError(where + ": \"" + pattern + "\": bad capture \"" + std::string(seg) +
                        "\" (a whole segment {name}, name of [A-Za-z_][A-Za-z0-9_]*)");
    }
    if (name == "user_id") continue;
    if (name == "role" || name == "topic") {
      throw ConfigError(where + ": \"" + pattern + "\": {" + std::string(name) +
                        "} is reserved (the caller's " + std::string(name) + ")");
    }
    if (std::find(captures.begin(), captures.end(), name) != captures.end()) {
      throw ConfigError(where + ": \"" + pattern + "\": capture {" + std::string(name) +
                        "} appears twice");
    }
    captures.emplace_back(name);
  }
  return captures;
}

std::vector<std::string> role_list(const json::value& value, const std::string& where,
                                   std::string_view key) {
  const json::array* roles = value.if_array();
  if (roles == nullptr)
    throw ConfigError(where + ": \"" + std::string(key) + "\" must be an array of roles");
  std::vector<std::string> out;
  for (const auto& role : *roles) {
    if (!role.is_string() || role.get_string().empty()) {
      throw ConfigError(where + ": \"" + std::string(key) + "\" must hold non-empty role names");
    }
    out.emplace_back(role.get_string());
  }
  return out;
}

AccessRules::ActionRule parse_action(const json::value& value, const std::string& where,
                                     std::string_view key) {
  AccessRules::ActionRule action;
  if (value.is_array()) {
    action.roles = role_list(value, where, key);
    return action;
  }
  const json::object* obj = value.if_object();
  if (obj == nullptr) {
    throw ConfigError(where + ": \"" + std::string(key) +
                      "\" must be an array of roles or {\"roles\": [...], \"check\": \"name\"}");
  }
  for (const auto& [k, v] : *obj) {
    if (k == "roles") {
      action.roles = role_list(v, where, std::string(key) + ".roles");
    } else if (k == "check") {
      if (!v.is_string() || v.get_string().empty()) {
        throw ConfigError(where + ": \"" + std::string(key) + ".check\" must name a check");
      }
      action.check = std::string(v.get_string());
    } else {
      throw ConfigError(where + ": unknown key \"" + std::string(key) + "." + std::string(k) +
                        "\" (expected roles, check)");
    }
  }
  if (!obj->contains("roles")) {
    if (action.check.empty()) {
      throw ConfigError(where + ": \"" + std::string(key) + "\" needs roles, a check, or both");
    }
    action.any_role = true;
  }
  return action;
}

CheckSpec parse_check(std::string_view name, const json::value& value, const std::string& src) {
  const std::string where = src + ": checks." + std::string(name);
  if (!is_valid_param_name(name)) {
    throw ConfigError(where + ": a check's name is [A-Za-z_][A-Za-z0-9_]*");
  }
  const json::object* obj = value.if_object();
  if (obj == nullptr) {
    throw ConfigError(where +
                      " must be an object: {\"hasura\": query} | {\"sql\": sql} | {\"http\": url}");
  }
  CheckSpec spec;
  spec.name = std::string(name);
  int kinds = 0;
  for (const auto& [k, v] : *obj) {
    if (k == "hasura" || k == "sql" || k == "http") {
      ++kinds;
      if (!v.is_string() || v.get_string().empty()) {
        throw ConfigError(where + ": \"" + std::string(k) + "\" must be a non-empty string");
      }
      spec.text = std::string(v.get_string());
      spec.kind = k == "hasura" ? CheckSpec::Kind::hasura
                  : k == "sql"  ? CheckSpec::Kind::sql
                                : CheckSpec::Kind::http;
    } else if (k == "ttl") {
      if (!v.is_int64() || v.get_int64() < 1 || v.get_int64() > 86400) {
        throw ConfigError(where + ": \"ttl\" must be whole seconds, 1-86400");
      }
      spec.ttl = std::chrono::seconds(v.get_int64());
    } else if (k == "timeout") {
      const double seconds = v.is_number() ? v.to_number<double>() : -1;
      if (!(seconds >= 0.05 && seconds <= 60)) {
        throw ConfigError(where + ": \"timeout\" must be seconds, 0.05-60");
      }
      spec.timeout = std::chrono::milliseconds(std::lround(seconds * 1000));
    } else {
      throw ConfigError(where + ": unknown key \"" + std::string(k) +
                        "\" (expected one of hasura, sql, http; ttl, timeout)");
    }
  }
  if (kinds != 1) throw ConfigError(where + ": needs exactly one of hasura, sql, http");
  if (spec.kind == CheckSpec::Kind::http) {
    if (!spec.text.starts_with("http://") && !spec.text.starts_with("https://")) {
      throw ConfigError(where + ": \"http\" must be an http:// or https:// URL");
    }
    return spec;
  }
  spec.variables = named_parameters(spec.text);
  if (spec.kind == CheckSpec::Kind::sql && spec.text.find('$') != std::string::npos) {
    // $1-style parameters would be bound to nothing: only names are filled in.
    for (std::size_t i = 0; i + 1 < spec.text.size(); ++i) {
      if (spec.text[i] == '$' && spec.text[i + 1] >= '0' && spec.text[i + 1] <= '9') {
        throw ConfigError(where + ": use named parameters ($channel_id, $user_id), not $1");
      }
    }
  }
  return spec;
}

}  // namespace

std::string_view to_string(TopicAction action) {
  switch (action) {
    case TopicAction::subscribe:
      return "subscribe";
    case TopicAction::publish:
      return "publish";
    case TopicAction::typing:
      return "typing";
    case TopicAction::presence:
      return "presence";
  }
  return "?";
}

const AccessRules::ActionRule& AccessRules::Rule::action(TopicAction a) const {
  switch (a) {
    case TopicAction::subscribe:
      return subscribe;
    case TopicAction::publish:
      return publish;
    case TopicAction::typing:
      return typing;
    case TopicAction::presence:
      break;
  }
  return presence;
}

namespace {

// `any_user`: {user_id} matches any one segment, as for a question about the topic itself.
bool match_pattern(std::string_view pattern, std::string_view topic, std::string_view user_id,
                   bool any_user, CheckParams* captures) {
  SegmentCursor p(pattern);
  SegmentCursor t(topic);
  while (!p.done()) {
    const std::string_view ps = p.next();
    if (ps == "**") return !t.done();  // one or more segments left
    if (t.done()) return false;
    const std::string_view ts = t.next();
    if (ps == "{user_id}") {
      if (any_user ? ts.empty() : (user_id.empty() || ts != user_id)) return false;
    } else if (is_capture(ps)) {
      if (ts.empty()) return false;
      if (captures != nullptr) captures->emplace_back(ps.substr(1, ps.size() - 2), ts);
    } else if (ps != "*" && ps != ts) {
      return false;
    }
  }
  return t.done();
}

std::size_t history_number(const json::value& v, const std::string& where, std::string_view key,
                           std::uint64_t low, std::uint64_t high) {
  const auto n = v.is_int64() && v.get_int64() >= 0 ? std::optional<std::uint64_t>(v.get_int64())
                 : v.is_uint64()                    ? std::optional<std::uint64_t>(v.get_uint64())
                                                    : std::nullopt;
  if (!n || *n < low || *n > high) {
    throw ConfigError(where + ": history \"" + std::string(key) + "\" must be an integer " +
                      std::to_string(low) + "-" + std::to_string(high));
  }
  return static_cast<std::size_t>(*n);
}

AccessRules::HistorySpec parse_history(const json::value& value, const std::string& where) {
  AccessRules::HistorySpec spec;
  if (value.is_bool() && !value.get_bool()) {
    spec.size = 0;
    return spec;
  }
  const json::object* obj = value.if_object();
  if (obj == nullptr) {
    throw ConfigError(where +
                      ": \"history\" must be {\"size\": events, \"ttl\": seconds, "
                      "\"bytes\": bytes} or false");
  }
  for (const auto& [key, v] : *obj) {
    if (key == "size") {
      spec.size = history_number(v, where, key, 0, max_history_size);
    } else if (key == "ttl") {
      spec.ttl = std::chrono::seconds(history_number(v, where, key, 1, max_history_ttl_seconds));
    } else if (key == "bytes") {
      spec.bytes = history_number(v, where, key, min_history_bytes, max_history_bytes);
    } else {
      throw ConfigError(where + ": unknown history key \"" + std::string(key) +
                        "\" (expected size, ttl, bytes)");
    }
  }
  return spec;
}

}  // namespace

bool AccessRules::matches(std::string_view pattern, std::string_view topic,
                          std::string_view user_id, CheckParams* captures) {
  return match_pattern(pattern, topic, user_id, false, captures);
}

const AccessRules::Rule* AccessRules::rule_for(std::string_view topic) const {
  for (const auto& rule : rules_) {
    if (match_pattern(rule.match, topic, {}, true, nullptr)) return &rule;
  }
  return nullptr;
}

bool AccessRules::any_history() const {
  for (const auto& rule : rules_) {
    if (rule.history && rule.history->size.value_or(0) > 0) return true;
  }
  return false;
}

bool AccessRules::presence_events(std::string_view topic) const {
  const Rule* rule = rule_for(topic);
  return rule == nullptr || rule->presence_events;
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
  for (const auto& [key, value] : *obj) {
    if (key != "topics" && key != "checks") {
      throw ConfigError(src + ": unknown key \"" + std::string(key) +
                        "\" (expected topics, checks)");
    }
  }
  AccessRules rules;
  if (const json::value* checks = obj->if_contains("checks")) {
    if (!checks->is_object()) throw ConfigError(src + ": \"checks\" must be an object of checks");
    for (const auto& [name, value] : checks->get_object()) {
      rules.checks_.push_back(parse_check(name, value, src));
    }
  }
  for (std::size_t i = 0; i < topics->get_array().size(); ++i) {
    std::string where = src + ": topics[" + std::to_string(i) + "]";
    const json::object* r = topics->get_array()[i].if_object();
    if (r == nullptr) throw ConfigError(where + " must be an object");
    Rule rule;
    const json::value* match = r->if_contains("match");
    if (match == nullptr || !match->is_string()) {
      throw ConfigError(where + ": \"match\" is required and must be a string");
    }
    rule.match = std::string(match->get_string());
    where += " (\"" + rule.match + "\")";
    rule.captures = validate_pattern(rule.match, where);
    for (const auto& [key, value] : *r) {
      if (key == "match") continue;
      if (key == "history") {
        rule.history = parse_history(value, where);
        continue;
      }
      if (key == "presence_events") {
        if (!value.is_bool())
          throw ConfigError(where + ": \"presence_events\" must be true or false");
        rule.presence_events = value.get_bool();
        continue;
      }
      ActionRule* action = nullptr;
      if (key == "subscribe")
        action = &rule.subscribe;
      else if (key == "publish")
        action = &rule.publish;
      else if (key == "typing")
        action = &rule.typing;
      else if (key == "presence")
        action = &rule.presence;
      else {
        throw ConfigError(where + ": unknown key \"" + std::string(key) +
                          "\" (expected match, subscribe, publish, typing, presence, history, "
                          "presence_events)");
      }
      *action = parse_action(value, where, key);
      if (action->check.empty()) continue;
      const CheckSpec* check = rules.find_check(action->check);
      if (check == nullptr) {
        throw ConfigError(where + ": \"" + std::string(key) + "\" names the unknown check \"" +
                          action->check + "\"");
      }
      for (const auto& variable : check->variables) {
        const bool builtin = std::find(std::begin(builtin_params), std::end(builtin_params),
                                       variable) != std::end(builtin_params);
        if (!builtin && std::find(rule.captures.begin(), rule.captures.end(), variable) ==
                            rule.captures.end()) {
          throw ConfigError(where + ": check \"" + check->name + "\" uses $" + variable +
                            ", which this pattern does not capture (add {" + variable +
                            "} to \"match\", or use $user_id, $role, $topic)");
        }
      }
    }
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

AccessRules AccessRules::defaults() { return parse(default_rules_json, "built-in rules"); }

const CheckSpec* AccessRules::find_check(std::string_view name) const {
  for (const auto& c : checks_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> AccessRules::rules_using(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& rule : rules_) {
    for (const ActionRule* a : {&rule.subscribe, &rule.publish, &rule.typing, &rule.presence}) {
      if (a->check == name) {
        out.push_back(rule.match);
        break;
      }
    }
  }
  return out;
}

AccessDecision AccessRules::decide(TopicAction action, std::string_view topic,
                                   const Subject& subject) const {
  for (const auto& grant : subject.grants) {
    if (matches(grant, topic, subject.user_id)) return {AccessDecision::Kind::allow, nullptr, {}};
  }
  for (const auto& rule : rules_) {
    CheckParams captures;
    if (!matches(rule.match, topic, subject.user_id, &captures)) continue;
    const ActionRule& a = rule.action(action);
    if (!a.any_role && !role_listed(a.roles, subject.role)) return {};
    if (a.check.empty()) return {AccessDecision::Kind::allow, nullptr, {}};
    AccessDecision decision{AccessDecision::Kind::check, find_check(a.check), std::move(captures)};
    decision.params.emplace_back("user_id", subject.user_id);
    decision.params.emplace_back("role", subject.role);
    decision.params.emplace_back("topic", std::string(topic));
    return decision;
  }
  return {};
}

std::vector<std::string> AccessRules::unchecked_open_rules() const {
  std::vector<std::string> out;
  for (const auto& rule : rules_) {
    const auto segs = segments(rule.match);
    // A wildcard or capture where an id goes: the rule speaks for many channels at once.
    const bool many = std::any_of(segs.begin() + 1, segs.end(), [](std::string_view s) {
      return s == "*" || s == "**" || (is_capture(s) && s != "{user_id}");
    });
    const bool per_user = std::find(segs.begin(), segs.end(), "{user_id}") != segs.end();
    const ActionRule& sub = rule.subscribe;
    const bool open = sub.check.empty() && !sub.roles.empty() &&
                      std::any_of(sub.roles.begin(), sub.roles.end(),
                                  [](const std::string& r) { return r != "admin"; });
    if (many && !per_user && open && segs.front() != "**") out.push_back(rule.match);
  }
  return out;
}

}  // namespace realtime
