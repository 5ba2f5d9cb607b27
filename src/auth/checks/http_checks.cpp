#include "auth/checks/http_checks.hpp"

#include <spdlog/spdlog.h>

#include "auth/checks/check_answers.hpp"

namespace realtime {

void HasuraCheckRunner::run(CheckRequest request, Done done) {
  HttpClientRequest http;
  http.url = endpoint_;
  http.body = hasura_request_body(request);
  http.timeout = request.spec.timeout;
  http.headers = {{"x-hasura-admin-secret", admin_secret_},
                  {"x-hasura-role", request.subject.role},
                  {"x-hasura-user-id", request.subject.user_id}};
  client_.request(std::move(http), [this, name = request.spec.name,
                                    done = std::move(done)](HttpClientResponse response) {
    if (response.status == 0) return done({CheckOutcome::unavailable, "hasura: " + response.error});
    CheckResult result = hasura_answer(response.status, response.body);
    if (result.outcome == CheckOutcome::deny && result.message.starts_with("hasura: ")) {
      // A GraphQL error is usually the check's own fault (a field the role cannot see, a typo):
      // say it once, not on every subscribe.
      std::lock_guard lock(mutex_);
      if (logged_.insert(name).second) {
        spdlog::warn("check \"{}\": Hasura answered with errors, which deny: {}", name,
                     result.message);
      }
    }
    done(std::move(result));
  });
}

void ProxyCheckRunner::run(CheckRequest request, Done done) {
  HttpClientRequest http;
  http.url = request.spec.text;
  http.body = proxy_request_body(request);
  http.timeout = request.spec.timeout;
  http.headers = {{"x-internal-token", server_key_}};
  client_.request(std::move(http), [done = std::move(done)](HttpClientResponse response) {
    if (response.status == 0) return done({CheckOutcome::unavailable, "proxy: " + response.error});
    done(proxy_answer(response.status, response.body));
  });
}

}  // namespace realtime
