#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace realtime {

// What a connection (or a caller of the HTTP API) wants to do with a topic.
enum class TopicAction { subscribe, publish, typing, presence };

// Who is asking: the identity carried by a connection token or a Hasura JWT.
struct Subject {
  std::string user_id;
  std::string role;
  std::vector<std::string> grants;  // extra topic patterns from a service-minted token
};

// Topic-level access rules: an ordered list of {match, action -> roles}; the first rule whose
// pattern matches the topic decides, no match denies. Pure: no I/O.
//
// Patterns are `:`-separated segments: `*` matches one segment, `**` (last) one or more, and a
// segment `{user_id}` must equal the subject's user id. `"*"` in a role list is any
// authenticated user. A subject's grants (same pattern syntax) allow every action on the topics
// they match, before any rule is consulted.
class AccessRules {
 public:
  struct Rule {
    std::string match;
    std::vector<std::string> subscribe, publish, typing, presence;
  };

  // Parses the rules file format {"topics":[{"match":..., "subscribe":[...], ...}]}.
  // Throws ConfigError naming what is wrong.
  static AccessRules parse(std::string_view json, std::string_view source = "rules");
  static AccessRules defaults();

  bool allowed(TopicAction action, std::string_view topic, const Subject& subject) const;
  const std::vector<Rule>& rules() const { return rules_; }

  // Pattern matching, exposed for tests and for grants.
  static bool matches(std::string_view pattern, std::string_view topic, std::string_view user_id);

 private:
  std::vector<Rule> rules_;
};

inline constexpr std::string_view default_rules_json = R"({"topics": [
  {"match": "user:{user_id}", "subscribe": ["*"], "presence": ["*"]},
  {"match": "channel:*", "subscribe": ["user", "admin"], "publish": ["admin"], "typing": ["user", "admin"], "presence": ["user", "admin"]},
  {"match": "**", "subscribe": ["admin"], "publish": ["admin"], "typing": ["admin"], "presence": ["admin"]}
]})";

}  // namespace realtime
