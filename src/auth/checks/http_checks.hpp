#pragma once

#include <mutex>
#include <set>
#include <string>

#include "auth/checks/check_runner.hpp"
#include "net/http_client.hpp"

namespace realtime {

// "hasura" checks: the check's query POSTed to HASURA_GRAPHQL_ENDPOINT with the admin secret and
// the caller's own role and user id, so that Hasura's row permissions decide. GraphQL errors deny
// and are logged once per check.
class HasuraCheckRunner final : public CheckRunner {
 public:
  HasuraCheckRunner(HttpClient& client, std::string endpoint, std::string admin_secret)
      : client_(client), endpoint_(std::move(endpoint)), admin_secret_(std::move(admin_secret)) {}
  void run(CheckRequest request, Done done) override;

 private:
  HttpClient& client_;
  std::string endpoint_;
  std::string admin_secret_;
  std::mutex mutex_;
  std::set<std::string> logged_;  // checks whose GraphQL errors were logged
};

// "http" checks: a subscribe proxy, POSTed {"user_id","role","topic","action","params"} with the
// server key in X-Internal-Token.
class ProxyCheckRunner final : public CheckRunner {
 public:
  ProxyCheckRunner(HttpClient& client, std::string server_key)
      : client_(client), server_key_(std::move(server_key)) {}
  void run(CheckRequest request, Done done) override;

 private:
  HttpClient& client_;
  std::string server_key_;
};

}  // namespace realtime
