#pragma once

#include <functional>

#include "auth/access_rules.hpp"
#include "auth/checks/check_spec.hpp"
#include "auth/checks/decision_cache.hpp"

namespace realtime {

// One question to a backend: may `subject` do `action` on `topic`?
struct CheckRequest {
  CheckSpec spec;  // a copy: a reload may replace the rules while the question is out
  CheckParams params;
  Subject subject;
  TopicAction action = TopicAction::subscribe;
  std::string topic;
};

// Asks one kind of backend (Hasura, SQL, an HTTP proxy). run() never blocks its caller (a shard
// thread): the answer comes on the runner's own thread, within the check's timeout, as allow,
// deny or unavailable — never an exception.
class CheckRunner {
 public:
  using Done = std::function<void(CheckResult)>;
  virtual ~CheckRunner() = default;
  virtual void run(CheckRequest request, Done done) = 0;
};

}  // namespace realtime
