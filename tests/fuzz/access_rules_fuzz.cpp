// libFuzzer target: the rules file (patterns with captures, roles, named checks) and the
// decisions it makes. Input: the rules' JSON on the first line, then a topic, a user id, a role
// and a grant pattern, one per line. Checks that a refusal is a ConfigError (exit 2 at start,
// the old rules kept on SIGHUP), and that every decision asking a check carries that check and
// every parameter its query uses.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/access_rules.hpp"
#include "config/config.hpp"
#include "fuzz_support.hpp"

using namespace realtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::fields(fuzz::as_text(data, size), 5);
  AccessRules rules;
  try {
    rules = AccessRules::parse(parts[0], "fuzz");
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz"));
    return 0;
  }
  for (const auto& rule : rules.rules()) {
    FUZZ_CHECK(!rule.match.empty());
    for (const auto* action : {&rule.subscribe, &rule.publish, &rule.typing, &rule.presence}) {
      FUZZ_CHECK(action->check.empty() || rules.find_check(action->check) != nullptr);
    }
  }
  (void)rules.unchecked_open_rules();
  for (const auto& check : rules.checks()) (void)rules.rules_using(check.name);

  Subject subject{.user_id = std::string(parts[2]), .role = std::string(parts[3]), .grants = {}};
  if (!parts[4].empty()) subject.grants.emplace_back(parts[4]);
  for (const auto action :
       {TopicAction::subscribe, TopicAction::publish, TopicAction::typing, TopicAction::presence}) {
    const AccessDecision d = rules.decide(action, parts[1], subject);
    if (d.kind != AccessDecision::Kind::check) {
      FUZZ_CHECK(d.check == nullptr && d.params.empty());
      continue;
    }
    FUZZ_CHECK(d.check != nullptr);
    const bool owned = std::any_of(rules.checks().begin(), rules.checks().end(),
                                   [&](const CheckSpec& c) { return &c == d.check; });
    FUZZ_CHECK(owned);
    FUZZ_CHECK(*find_param(d.params, "topic") == parts[1]);
    FUZZ_CHECK(*find_param(d.params, "user_id") == subject.user_id);
    FUZZ_CHECK(*find_param(d.params, "role") == subject.role);
    for (const auto& variable : d.check->variables) {
      FUZZ_CHECK(find_param(d.params, variable) != nullptr);
    }
  }
  return 0;
}
