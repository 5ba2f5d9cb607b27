#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/checks/check_spec.hpp"

namespace realtime {

// What a connection (or a caller of the HTTP API) wants to do with a topic.
enum class TopicAction { subscribe, publish, typing, presence };
std::string_view to_string(TopicAction action);

// Who is asking: the identity carried by a connection token or a Hasura JWT.
struct Subject {
  std::string user_id;
  std::string role;
  std::vector<std::string> grants;  // extra topic patterns from a service-minted token
  // Unix seconds when the identity ends (the Hasura JWT's exp; a service's choice); 0 = never.
  // A connection opened with it is closed then (4001) unless it refreshes.
  std::int64_t expires_at = 0;
};

// What the rules say about one request: allowed, denied, or allowed by the roles but only if a
// check (a question to Hasura, the database or a backend) says yes.
struct AccessDecision {
  enum class Kind { allow, deny, check };
  Kind kind = Kind::deny;
  const CheckSpec* check = nullptr;  // kind == check; owned by the AccessRules
  CheckParams params;                // kind == check: captures + user_id, role, topic
};

// Topic-level access rules: an ordered list of {match, action -> who}; the first rule whose
// pattern matches the topic decides, no match denies. Pure: no I/O.
//
// Patterns are `:`-separated segments: `*` matches one segment, `**` (last) one or more, a
// segment `{user_id}` must equal the subject's user id, and any other `{name}` matches one
// segment and captures it as the check parameter `name`. An action is a list of roles (`"*"` =
// any authenticated user), or {"roles": [...], "check": "name"}: with both, both must agree;
// with only a check, any role may ask. A subject's grants (same pattern syntax) allow every
// action on the topics they match, before any rule is consulted.
class AccessRules {
 public:
  struct ActionRule {
    std::vector<std::string> roles;
    bool any_role = false;  // {"check": ...} without "roles"
    std::string check;      // empty: roles alone decide
  };
  // A rule's "history": {"size", "ttl", "bytes"}; an unset field takes the REALTIME_HISTORY_*
  // default, and `false` (or size 0) keeps none.
  struct HistorySpec {
    std::optional<std::size_t> size;
    std::optional<std::chrono::seconds> ttl;
    std::optional<std::size_t> bytes;
  };
  struct Rule {
    std::string match;
    std::vector<std::string> captures;  // the {name} segments, in order
    ActionRule subscribe, publish, typing, presence;
    std::optional<HistorySpec> history;  // unset: the defaults
    // "presence_events": false: the topic's subscribers get no presence events (broadcast-style
    // topics); presence is still tracked and listed.
    bool presence_events = true;
    const ActionRule& action(TopicAction a) const;
  };

  // Parses {"topics":[{"match":..., "subscribe":[...] | {...}, ...}], "checks":{...}}.
  // Throws ConfigError naming the rule or check that is wrong.
  static AccessRules parse(std::string_view json, std::string_view source = "rules");
  static AccessRules defaults();

  AccessDecision decide(TopicAction action, std::string_view topic, const Subject& subject) const;
  // The first rule matching `topic` whoever asks ({user_id} matches any id); null when none.
  const Rule* rule_for(std::string_view topic) const;
  bool any_history() const;  // a rule says "history" with a size
  // Whether `topic`'s subscribers get presence events: its first rule's "presence_events"
  // (true when no rule matches).
  bool presence_events(std::string_view topic) const;
  // True only when the rules allow without a check.
  bool allowed(TopicAction action, std::string_view topic, const Subject& subject) const {
    return decide(action, topic, subject).kind == AccessDecision::Kind::allow;
  }

  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<CheckSpec>& checks() const { return checks_; }
  bool uses_checks() const { return !checks_.empty(); }
  const CheckSpec* find_check(std::string_view name) const;
  // The patterns (`match`) of the rules whose actions name check `name`.
  std::vector<std::string> rules_using(std::string_view name) const;
  // The rules (their `match`) that let a whole role other than admin subscribe to the topics of
  // many ids (`channel:*`) with no check: in production the server warns about each.
  std::vector<std::string> unchecked_open_rules() const;

  // Pattern matching, exposed for tests and for grants. `captures`, when given, receives the
  // {name} segments' values.
  static bool matches(std::string_view pattern, std::string_view topic, std::string_view user_id,
                      CheckParams* captures = nullptr);

 private:
  std::vector<Rule> rules_;
  std::vector<CheckSpec> checks_;
};

// The built-in rules: usable for development, but `channel:*` is open to every user (the
// production start-up warns; a rules file with a membership check closes it).
inline constexpr std::string_view default_rules_json = R"({"topics": [
  {"match": "user:{user_id}", "subscribe": ["*"], "presence": ["*"]},
  {"match": "channel:*", "subscribe": ["user", "admin"], "publish": ["admin"], "typing": ["user", "admin"], "presence": ["user", "admin"]},
  {"match": "**", "subscribe": ["admin"], "publish": ["admin"], "typing": ["admin"], "presence": ["admin"]}
]})";

}  // namespace realtime
