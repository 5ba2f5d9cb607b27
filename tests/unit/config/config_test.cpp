#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace realtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using EnvMap = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

// A fake environment: only the variables in `vars` are set.
EnvLookup env_of(EnvMap vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The two variables a non-dev configuration cannot do without.
EnvMap required_env() {
  return {{"REALTIME_CORS_ORIGIN", "https://app.example"},
          {"REALTIME_API_KEY", "k3y"},
          {"HASURA_GRAPHQL_JWT_SECRET", "an-hs256-secret-of-at-least-32-bytes"}};
}

EnvMap with(EnvMap env, const std::string& name, const std::string& value) {
  env[name] = value;
  return env;
}

Config parse(const Args& args, const EnvMap& env) { return parse_config(args, env_of(env)).config; }

// The message of the ConfigError that parse_config throws; fails the test when none is thrown.
std::string config_error(const Args& args, const EnvMap& env) {
  try {
    parse_config(args, env_of(env));
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaultsTest, EveryOptionalSettingHasItsDocumentedDefault) {
  const Config c = parse({}, required_env());
  EXPECT_EQ(c.port, 3109);
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.heartbeat_seconds, 30);
  EXPECT_EQ(c.max_connections, 10000);
  EXPECT_EQ(c.max_message_bytes, 65536u);
  EXPECT_EQ(c.max_queue_bytes, 1048576u);
  EXPECT_EQ(c.max_subscriptions, 1000);
  EXPECT_EQ(c.client_rate_limit, 100);
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.max_batch_messages, 1000);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, LogFormat::text);
  EXPECT_TRUE(c.static_dir.empty());
  EXPECT_FALSE(c.dev);
}

TEST(ConfigDefaultsTest, ThreadsDefaultsToTheCoreCount) {
  const Config c = parse({}, required_env());
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(c.threads, cores);
}

TEST(ConfigDefaultsTest, ActionIsRunWithoutSpecialFlags) {
  EXPECT_EQ(parse_config({}, env_of(required_env())).action, Action::run);
}

TEST(ConfigDefaultsTest, DevModeNeedsNothingElse) {
  const ParsedCommandLine parsed = parse_config({"--dev"}, env_of({}));
  EXPECT_TRUE(parsed.config.dev);
  EXPECT_EQ(parsed.action, Action::run);
  EXPECT_TRUE(parsed.config.cors_origins.empty());
  EXPECT_TRUE(parsed.config.api_key.empty());
}

// ---------------------------------------------------------------------------------------------
// Env vars, flags and their precedence

TEST(ConfigSourcesTest, ReadsEachSettingFromItsEnvVar) {
  EnvMap env = required_env();
  env["REALTIME_PORT"] = "4000";
  env["REALTIME_HOST"] = "127.0.0.1";
  env["REALTIME_HEARTBEAT_SECONDS"] = "10";
  env["REALTIME_MAX_CONNECTIONS"] = "50";
  env["REALTIME_THREADS"] = "3";
  env["REALTIME_MAX_MESSAGE_BYTES"] = "1024";
  env["REALTIME_MAX_QUEUE_BYTES"] = "8192";
  env["REALTIME_MAX_SUBSCRIPTIONS"] = "7";
  env["REALTIME_MAX_BODY_BYTES"] = "2048";
  env["REALTIME_LOG_LEVEL"] = "debug";
  env["REALTIME_LOG_FORMAT"] = "json";
  env["REALTIME_STATIC_DIR"] = "/srv/web";
  const Config c = parse({}, env);
  EXPECT_EQ(c.port, 4000);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.heartbeat_seconds, 10);
  EXPECT_EQ(c.max_connections, 50);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.max_message_bytes, 1024u);
  EXPECT_EQ(c.max_queue_bytes, 8192u);
  EXPECT_EQ(c.max_subscriptions, 7);
  EXPECT_EQ(c.max_body_bytes, 2048u);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, LogFormat::json);
  EXPECT_EQ(c.static_dir, "/srv/web");
  EXPECT_EQ(c.api_key, "k3y");
  EXPECT_EQ(c.cors_origins, std::vector<std::string>{"https://app.example"});
}

TEST(ConfigSourcesTest, ReadsEachSettingFromItsFlag) {
  const Config c = parse({"--jwt-secret",
                          "an-hs256-secret-of-at-least-32-bytes",
                          "--port",
                          "4000",
                          "--host",
                          "127.0.0.1",
                          "--cors-origin",
                          "*",
                          "--heartbeat-seconds",
                          "10",
                          "--max-connections",
                          "50",
                          "--threads",
                          "3",
                          "--max-message-bytes",
                          "1024",
                          "--max-queue-bytes",
                          "8192",
                          "--max-subscriptions",
                          "7",
                          "--max-body-bytes",
                          "2048",
                          "--api-key",
                          "flagkey",
                          "--log-level",
                          "warn",
                          "--log-format",
                          "json",
                          "--static-dir",
                          "/srv/web"},
                         {});
  EXPECT_EQ(c.port, 4000);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.cors_origins, std::vector<std::string>{"*"});
  EXPECT_EQ(c.heartbeat_seconds, 10);
  EXPECT_EQ(c.max_connections, 50);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.max_message_bytes, 1024u);
  EXPECT_EQ(c.max_queue_bytes, 8192u);
  EXPECT_EQ(c.max_subscriptions, 7);
  EXPECT_EQ(c.max_body_bytes, 2048u);
  EXPECT_EQ(c.api_key, "flagkey");
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.log_format, LogFormat::json);
  EXPECT_EQ(c.static_dir, "/srv/web");
}

TEST(ConfigSourcesTest, FlagWithEqualsSignTakesTheValueAfterIt) {
  const Config c = parse({"--port=4001", "--host=::1"}, required_env());
  EXPECT_EQ(c.port, 4001);
  EXPECT_EQ(c.host, "::1");
}

TEST(ConfigSourcesTest, FlagWithEqualsSignKeepsFurtherEqualsSignsInTheValue) {
  const Config c = parse({"--api-key=a=b=c"}, with(required_env(), "REALTIME_API_KEY", "x"));
  EXPECT_EQ(c.api_key, "a=b=c");
}

TEST(ConfigSourcesTest, FlagWinsOverEnvVar) {
  const Config c = parse({"--port", "5000"}, with(required_env(), "REALTIME_PORT", "4000"));
  EXPECT_EQ(c.port, 5000);
}

TEST(ConfigSourcesTest, FlagWinsOverEnvVarWhateverTheFlagSyntax) {
  const Config c =
      parse({"--log-level=error"}, with(required_env(), "REALTIME_LOG_LEVEL", "debug"));
  EXPECT_EQ(c.log_level, "error");
}

TEST(ConfigSourcesTest, EnvVarIsUsedWhenNoFlagOverridesIt) {
  const Config c = parse({"--port", "5000"}, with(required_env(), "REALTIME_HOST", "10.0.0.1"));
  EXPECT_EQ(c.host, "10.0.0.1");
  EXPECT_EQ(c.port, 5000);
}

TEST(ConfigSourcesTest, LastRepeatedFlagWins) {
  const Config c = parse({"--port", "5000", "--port=6000"}, required_env());
  EXPECT_EQ(c.port, 6000);
}

TEST(ConfigSourcesTest, PortFallsBackToPORT) {
  const Config c = parse({}, with(required_env(), "PORT", "8080"));
  EXPECT_EQ(c.port, 8080);
}

TEST(ConfigSourcesTest, RealtimePortWinsOverPORT) {
  EnvMap env = with(required_env(), "PORT", "8080");
  env["REALTIME_PORT"] = "4000";
  EXPECT_EQ(parse({}, env).port, 4000);
}

TEST(ConfigSourcesTest, ApiKeyFallsBackToPluginInternalSecret) {
  EnvMap env = with(required_env(), "PLUGIN_INTERNAL_SECRET", "plugin-secret");
  env.erase("REALTIME_API_KEY");
  const Config c = parse({}, env);
  EXPECT_EQ(c.api_key, "plugin-secret");
}

TEST(ConfigSourcesTest, RealtimeApiKeyWinsOverPluginInternalSecret) {
  EnvMap env = with(required_env(), "PLUGIN_INTERNAL_SECRET", "plugin-secret");
  EXPECT_EQ(parse({}, env).api_key, "k3y");
}

TEST(ConfigSourcesTest, ApiKeyFlagWinsOverPluginInternalSecret) {
  EnvMap env = with(required_env(), "PLUGIN_INTERNAL_SECRET", "plugin-secret");
  env.erase("REALTIME_API_KEY");
  EXPECT_EQ(parse({"--api-key", "flag"}, env).api_key, "flag");
}

TEST(ConfigSourcesTest, CorsOriginIsSplitOnCommasAndTrimmed) {
  const Config c = parse(
      {}, with(required_env(), "REALTIME_CORS_ORIGIN", " https://a.example ,https://b.example,, "));
  EXPECT_EQ(c.cors_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
}

TEST(ConfigSourcesTest, PortZeroMeansAnyFreePort) {
  EXPECT_EQ(parse({"--port", "0"}, required_env()).port, 0);
}

TEST(ConfigSourcesTest, EachLogLevelIsAccepted) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(parse({"--log-level", level}, required_env()).log_level, level);
  }
}

TEST(ConfigSourcesTest, LogFormatTextIsAccepted) {
  EXPECT_EQ(
      parse({"--log-format=text"}, with(required_env(), "REALTIME_LOG_FORMAT", "json")).log_format,
      LogFormat::text);
}

// ---------------------------------------------------------------------------------------------
// Integer settings: range limits and messages

struct IntegerSetting {
  std::string env;
  std::string flag;
  long long min;
  long long max;
  std::function<long long(const Config&)> get;
};

void PrintTo(const IntegerSetting& s, std::ostream* os) { *os << s.env; }

class IntegerSettingTest : public ::testing::TestWithParam<IntegerSetting> {};

TEST_P(IntegerSettingTest, AcceptsTheMinimum) {
  const auto& s = GetParam();
  EXPECT_EQ(s.get(parse({}, with(required_env(), s.env, std::to_string(s.min)))), s.min);
}

TEST_P(IntegerSettingTest, AcceptsTheMaximum) {
  const auto& s = GetParam();
  EXPECT_EQ(s.get(parse({}, with(required_env(), s.env, std::to_string(s.max)))), s.max);
}

TEST_P(IntegerSettingTest, BelowTheMinimumNamesTheVariableAndTheRange) {
  const auto& s = GetParam();
  const std::string msg = config_error({}, with(required_env(), s.env, std::to_string(s.min - 1)));
  EXPECT_THAT(msg, HasSubstr(s.env));
  EXPECT_THAT(msg, HasSubstr("[" + std::to_string(s.min) + ", " + std::to_string(s.max) + "]"));
}

TEST_P(IntegerSettingTest, AboveTheMaximumNamesTheVariableAndTheRange) {
  const auto& s = GetParam();
  const std::string msg = config_error({}, with(required_env(), s.env, std::to_string(s.max + 1)));
  EXPECT_THAT(msg, HasSubstr(s.env));
  EXPECT_THAT(msg, HasSubstr("[" + std::to_string(s.min) + ", " + std::to_string(s.max) + "]"));
}

TEST_P(IntegerSettingTest, NonNumericValueIsRejected) {
  const auto& s = GetParam();
  EXPECT_THAT(config_error({}, with(required_env(), s.env, "lots")), HasSubstr(s.env));
}

TEST_P(IntegerSettingTest, TrailingGarbageIsRejected) {
  const auto& s = GetParam();
  EXPECT_THAT(config_error({}, with(required_env(), s.env, std::to_string(s.min) + "x")),
              HasSubstr(s.env));
}

TEST_P(IntegerSettingTest, EmptyValueIsRejected) {
  const auto& s = GetParam();
  EXPECT_THAT(config_error({}, with(required_env(), s.env, "")), HasSubstr(s.env));
}

TEST_P(IntegerSettingTest, BadFlagValueNamesTheFlagAndTheRange) {
  const auto& s = GetParam();
  const std::string msg = config_error({s.flag, std::to_string(s.max + 1)}, required_env());
  EXPECT_THAT(msg, HasSubstr(s.flag));
  EXPECT_THAT(msg, HasSubstr("[" + std::to_string(s.min) + ", " + std::to_string(s.max) + "]"));
}

INSTANTIATE_TEST_SUITE_P(
    AllIntegerSettings, IntegerSettingTest,
    ::testing::Values(
        IntegerSetting{"REALTIME_PORT", "--port", 0, 65535, [](const Config& c) { return c.port; }},
        IntegerSetting{"REALTIME_HEARTBEAT_SECONDS", "--heartbeat-seconds", 1, 3600,
                       [](const Config& c) { return c.heartbeat_seconds; }},
        IntegerSetting{"REALTIME_MAX_CONNECTIONS", "--max-connections", 1, 1000000,
                       [](const Config& c) { return c.max_connections; }},
        IntegerSetting{"REALTIME_THREADS", "--threads", 1, 256,
                       [](const Config& c) { return c.threads; }},
        IntegerSetting{"REALTIME_MAX_MESSAGE_BYTES", "--max-message-bytes", 256, 16 * 1024 * 1024,
                       [](const Config& c) { return static_cast<long long>(c.max_message_bytes); }},
        IntegerSetting{"REALTIME_MAX_QUEUE_BYTES", "--max-queue-bytes", 4096, 1024LL * 1024 * 1024,
                       [](const Config& c) { return static_cast<long long>(c.max_queue_bytes); }},
        IntegerSetting{"REALTIME_MAX_SUBSCRIPTIONS", "--max-subscriptions", 1, 1000000,
                       [](const Config& c) { return c.max_subscriptions; }},
        IntegerSetting{"REALTIME_CLIENT_RATE_LIMIT", "--client-rate-limit", 1, 1000000,
                       [](const Config& c) { return c.client_rate_limit; }},
        IntegerSetting{"REALTIME_MAX_BODY_BYTES", "--max-body-bytes", 1024, 64LL * 1024 * 1024,
                       [](const Config& c) { return static_cast<long long>(c.max_body_bytes); }}),
    [](const ::testing::TestParamInfo<IntegerSetting>& info) { return info.param.env; });

TEST(ConfigValidationTest, BadPortFallbackNamesPORT) {
  EXPECT_THAT(config_error({}, with(required_env(), "PORT", "http")), HasSubstr("PORT"));
}

TEST(ConfigValidationTest, NegativePortIsRejected) {
  EXPECT_THAT(config_error({"--port=-1"}, required_env()), HasSubstr("[0, 65535]"));
}

TEST(ConfigValidationTest, ErrorMessageQuotesTheBadValue) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_PORT", "99999")),
              HasSubstr("\"99999\""));
}

TEST(ConfigValidationTest, UnknownLogLevelNamesTheVariableAndTheChoices) {
  const std::string msg = config_error({}, with(required_env(), "REALTIME_LOG_LEVEL", "verbose"));
  EXPECT_THAT(msg, HasSubstr("REALTIME_LOG_LEVEL"));
  EXPECT_THAT(msg, HasSubstr("trace"));
  EXPECT_THAT(msg, HasSubstr("critical"));
}

TEST(ConfigValidationTest, LogLevelIsCaseSensitive) {
  EXPECT_THAT(config_error({"--log-level", "INFO"}, required_env()), HasSubstr("--log-level"));
}

TEST(ConfigValidationTest, UnknownLogFormatNamesTheVariableAndTheChoices) {
  const std::string msg = config_error({}, with(required_env(), "REALTIME_LOG_FORMAT", "xml"));
  EXPECT_THAT(msg, HasSubstr("REALTIME_LOG_FORMAT"));
  EXPECT_THAT(msg, HasSubstr("text"));
  EXPECT_THAT(msg, HasSubstr("json"));
}

TEST(ConfigValidationTest, EmptyHostIsRejected) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_HOST", "")),
              HasSubstr("REALTIME_HOST"));
}

TEST(ConfigValidationTest, HostMustBeAnIpAddress) {
  const std::string msg = config_error({}, with(required_env(), "REALTIME_HOST", "localhost"));
  EXPECT_THAT(msg, HasSubstr("REALTIME_HOST"));
  EXPECT_THAT(msg, HasSubstr("\"localhost\""));
}

TEST(ConfigValidationTest, HostAcceptsIpv4AndIpv6) {
  EXPECT_EQ(parse({"--host", "10.1.2.3"}, required_env()).host, "10.1.2.3");
  EXPECT_EQ(parse({"--host", "::"}, required_env()).host, "::");
}

TEST(ConfigValidationTest, CorsOriginOfOnlyCommasIsRejected) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_CORS_ORIGIN", " , ,")),
              HasSubstr("REALTIME_CORS_ORIGIN"));
}

TEST(ConfigValidationTest, CorsOriginIsRequiredWithoutDev) {
  const std::string msg = config_error({}, {{"REALTIME_API_KEY", "k3y"}});
  EXPECT_THAT(msg, HasSubstr("REALTIME_CORS_ORIGIN"));
  EXPECT_THAT(msg, HasSubstr("--dev"));
}

TEST(ConfigValidationTest, HasuraJwtSecretIsRequiredWithoutDev) {
  const std::string msg = config_error({}, with(required_env(), "HASURA_GRAPHQL_JWT_SECRET", ""));
  EXPECT_THAT(msg, HasSubstr("HASURA_GRAPHQL_JWT_SECRET"));
}

TEST(ConfigValidationTest, HasuraJwtSecretIsOptionalInDev) {
  EnvMap env = required_env();
  env.erase("HASURA_GRAPHQL_JWT_SECRET");
  EXPECT_FALSE(parse({"--dev"}, env).hasura_jwt.has_value());
}

TEST(ConfigValidationTest, ApiKeyIsRequiredWithoutDev) {
  const std::string msg = config_error({}, {{"REALTIME_CORS_ORIGIN", "*"}});
  EXPECT_THAT(msg, HasSubstr("REALTIME_API_KEY"));
  EXPECT_THAT(msg, HasSubstr("--dev"));
}

TEST(ConfigValidationTest, EmptyApiKeyCountsAsMissing) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_API_KEY", "")),
              HasSubstr("REALTIME_API_KEY"));
}

TEST(ConfigValidationTest, DevModeAllowsMissingOriginAndKey) {
  EXPECT_NO_THROW(parse_config({"--dev"}, env_of({})));
}

TEST(ConfigValidationTest, DevModeStillRejectsBadValues) {
  EXPECT_THAT(config_error({"--dev", "--threads", "0"}, {}), HasSubstr("--threads"));
}

TEST(ConfigValidationTest, UnknownFlagIsRejectedAndNamed) {
  EXPECT_THAT(config_error({"--colour"}, required_env()), HasSubstr("--colour"));
}

TEST(ConfigValidationTest, UnknownFlagWithValueIsRejected) {
  EXPECT_THAT(config_error({"--colour=blue"}, required_env()), HasSubstr("--colour"));
}

TEST(ConfigValidationTest, PositionalArgumentIsRejected) {
  EXPECT_THAT(config_error({"serve"}, required_env()), HasSubstr("serve"));
}

TEST(ConfigValidationTest, FlagWithoutValueAtTheEndIsRejected) {
  EXPECT_THAT(config_error({"--port"}, required_env()), HasSubstr("--port"));
}

TEST(ConfigValidationTest, ErrorIsAConfigErrorAndARuntimeError) {
  EXPECT_THROW(parse_config({"--port", "x"}, env_of(required_env())), ConfigError);
  EXPECT_THROW(parse_config({"--port", "x"}, env_of(required_env())), std::runtime_error);
}

// ---------------------------------------------------------------------------------------------
// --help, --version, --check-config

TEST(ConfigActionTest, HelpSkipsTheRequiredSettings) {
  ParsedCommandLine parsed;
  ASSERT_NO_THROW(parsed = parse_config({"--help"}, env_of({})));
  EXPECT_EQ(parsed.action, Action::help);
}

TEST(ConfigActionTest, ShortHelpFlagIsHelp) {
  EXPECT_EQ(parse_config({"-h"}, env_of({})).action, Action::help);
}

TEST(ConfigActionTest, VersionSkipsTheRequiredSettings) {
  ParsedCommandLine parsed;
  ASSERT_NO_THROW(parsed = parse_config({"--version"}, env_of({})));
  EXPECT_EQ(parsed.action, Action::version);
}

TEST(ConfigActionTest, HelpWorksEvenWhenAnEnvVarIsInvalid) {
  // `--help` must always print the usage, even in an environment that would not start.
  ParsedCommandLine parsed;
  ASSERT_NO_THROW(parsed = parse_config({"--help"}, env_of({{"REALTIME_PORT", "http"}})));
  EXPECT_EQ(parsed.action, Action::help);
}

TEST(ConfigActionTest, VersionWorksEvenWhenAnEnvVarIsInvalid) {
  ParsedCommandLine parsed;
  ASSERT_NO_THROW(parsed = parse_config({"--version"}, env_of({{"REALTIME_THREADS", "0"}})));
  EXPECT_EQ(parsed.action, Action::version);
}

TEST(ConfigActionTest, CheckConfigIsReported) {
  EXPECT_EQ(parse_config({"--check-config"}, env_of(required_env())).action, Action::check_config);
}

TEST(ConfigActionTest, CheckConfigStillValidates) {
  EXPECT_THROW(parse_config({"--check-config"}, env_of({})), ConfigError);
}

TEST(ConfigActionTest, CheckConfigWorksWithDev) {
  const ParsedCommandLine parsed = parse_config({"--dev", "--check-config"}, env_of({}));
  EXPECT_EQ(parsed.action, Action::check_config);
  EXPECT_TRUE(parsed.config.dev);
}

TEST(ConfigActionTest, UsageTextListsEveryFlagAndVariable) {
  const std::string text = usage_text();
  for (const char* s : {"--dev",
                        "--check-config",
                        "--help",
                        "--version",
                        "--port",
                        "REALTIME_PORT",
                        "PORT",
                        "--cors-origin",
                        "REALTIME_CORS_ORIGIN",
                        "--api-key",
                        "REALTIME_API_KEY",
                        "PLUGIN_INTERNAL_SECRET",
                        "REALTIME_HEARTBEAT_SECONDS",
                        "REALTIME_MAX_CONNECTIONS",
                        "REALTIME_THREADS",
                        "REALTIME_MAX_MESSAGE_BYTES",
                        "REALTIME_MAX_QUEUE_BYTES",
                        "REALTIME_MAX_SUBSCRIPTIONS",
                        "REALTIME_LOG_LEVEL",
                        "REALTIME_LOG_FORMAT",
                        "REALTIME_HOST"}) {
    EXPECT_THAT(text, HasSubstr(s));
  }
}

// ---------------------------------------------------------------------------------------------
// describe()

TEST(ConfigDescribeTest, MasksTheApiKey) {
  const Config c = parse({}, with(required_env(), "REALTIME_API_KEY", "super-secret-value"));
  const std::string text = c.describe();
  EXPECT_THAT(text, Not(HasSubstr("super-secret-value")));
  EXPECT_THAT(text, HasSubstr("REALTIME_API_KEY=****"));
}

TEST(ConfigDescribeTest, ShowsAnUnsetApiKeyAsUnset) {
  const Config c = parse({"--dev"}, {});
  EXPECT_THAT(c.describe(), HasSubstr("REALTIME_API_KEY=(unset)"));
}

TEST(ConfigDescribeTest, ListsTheEffectiveValues) {
  EnvMap env = with(required_env(), "REALTIME_PORT", "4321");
  env["REALTIME_CORS_ORIGIN"] = "https://a.example, https://b.example";
  const std::string text = parse({"--threads", "2", "--log-format", "json"}, env).describe();
  EXPECT_THAT(text, HasSubstr("REALTIME_PORT=4321\n"));
  EXPECT_THAT(text, HasSubstr("REALTIME_THREADS=2\n"));
  EXPECT_THAT(text, HasSubstr("REALTIME_CORS_ORIGIN=https://a.example,https://b.example\n"));
  EXPECT_THAT(text, HasSubstr("REALTIME_LOG_FORMAT=json\n"));
  EXPECT_THAT(text, HasSubstr("REALTIME_HOST=0.0.0.0\n"));
  EXPECT_THAT(text, HasSubstr("dev=false\n"));
}

TEST(ConfigDescribeTest, ReportsDevMode) {
  EXPECT_THAT(parse({"--dev"}, {}).describe(), HasSubstr("dev=true\n"));
}

// ---------------------------------------------------------------------------------------------
// origin_allowed() / any_origin()

TEST(ConfigOriginTest, ListedOriginIsAllowed) {
  Config c;
  c.cors_origins = {"https://a.example", "https://b.example"};
  EXPECT_TRUE(c.origin_allowed("https://a.example"));
  EXPECT_TRUE(c.origin_allowed("https://b.example"));
}

TEST(ConfigOriginTest, UnlistedOriginIsRefused) {
  Config c;
  c.cors_origins = {"https://a.example"};
  EXPECT_FALSE(c.origin_allowed("https://evil.example"));
}

TEST(ConfigOriginTest, MatchIsExactNotAPrefixOrSuffix) {
  Config c;
  c.cors_origins = {"https://a.example"};
  EXPECT_FALSE(c.origin_allowed("https://a.example.evil.example"));
  EXPECT_FALSE(c.origin_allowed("https://a.exampl"));
  EXPECT_FALSE(c.origin_allowed("http://a.example"));
  EXPECT_FALSE(c.origin_allowed(""));
}

TEST(ConfigOriginTest, NoOriginsConfiguredRefusesEveryOrigin) {
  Config c;
  EXPECT_FALSE(c.any_origin());
  EXPECT_FALSE(c.origin_allowed("https://a.example"));
}

TEST(ConfigOriginTest, StarAllowsAnyOrigin) {
  Config c;
  c.cors_origins = {"*"};
  EXPECT_TRUE(c.any_origin());
  EXPECT_TRUE(c.origin_allowed("https://anything.example"));
}

TEST(ConfigOriginTest, StarAnywhereInTheListAllowsAnyOrigin) {
  const Config c = parse({}, with(required_env(), "REALTIME_CORS_ORIGIN", "https://a.example,*"));
  EXPECT_TRUE(c.any_origin());
  EXPECT_TRUE(c.origin_allowed("https://other.example"));
}

TEST(ConfigOriginTest, DevAllowsAnyOrigin) {
  Config c;
  c.dev = true;
  c.cors_origins = {"https://a.example"};
  EXPECT_TRUE(c.origin_allowed("https://other.example"));
}

// --- Redis and typing ---

TEST(ConfigRedisTest, UnsetMeansTheEmbeddedEngine) {
  const Config c = parse_config({"--dev"}, env_of({})).config;
  EXPECT_FALSE(c.redis.has_value());
  EXPECT_EQ(c.redis_prefix, "realtime:");
  EXPECT_EQ(c.typing_timeout_seconds, 5);
}

TEST(ConfigRedisTest, RealtimeRedisUrlWinsOverRedisUrl) {
  const Config c =
      parse_config({"--dev"},
                   env_of({{"REALTIME_REDIS_URL", "redis://a:1"}, {"REDIS_URL", "redis://b:2"}}))
          .config;
  ASSERT_TRUE(c.redis);
  EXPECT_EQ(c.redis->host, "a");
}

TEST(ConfigRedisTest, RedisUrlIsTheFallback) {
  const Config c = parse_config({"--dev"}, env_of({{"REDIS_URL", "redis://b:2/1"}})).config;
  ASSERT_TRUE(c.redis);
  EXPECT_EQ(c.redis->host, "b");
  EXPECT_EQ(c.redis->db, 1);
}

TEST(ConfigRedisTest, HostPortPasswordAsTheNselfCliInjectsThem) {
  const Config c =
      parse_config(
          {"--dev"},
          env_of({{"REDIS_HOST", "redis"}, {"REDIS_PORT", "6380"}, {"REDIS_PASSWORD", "pw"}}))
          .config;
  ASSERT_TRUE(c.redis);
  EXPECT_EQ(c.redis->host, "redis");
  EXPECT_EQ(c.redis->port, 6380);
  EXPECT_EQ(c.redis->password, "pw");
}

TEST(ConfigRedisTest, AUrlWinsOverHostAndPort) {
  const Config c =
      parse_config({"--dev"}, env_of({{"REDIS_URL", "redis://url-host"}, {"REDIS_HOST", "other"}}))
          .config;
  EXPECT_EQ(c.redis->host, "url-host");
}

TEST(ConfigRedisTest, FlagWinsAndBadUrlIsAConfigError) {
  EXPECT_EQ(parse_config({"--dev", "--redis-url", "redis://flag"},
                         env_of({{"REALTIME_REDIS_URL", "redis://env"}}))
                .config.redis->host,
            "flag");
  EXPECT_THROW(parse_config({"--dev"}, env_of({{"REALTIME_REDIS_URL", "http://x"}})), ConfigError);
  EXPECT_THROW(parse_config({"--dev"}, env_of({{"REDIS_HOST", "h"}, {"REDIS_PORT", "x"}})),
               ConfigError);
}

TEST(ConfigRedisTest, PrefixMustBeShortWithoutSpacesOrBraces) {
  EXPECT_EQ(parse_config({"--dev", "--redis-prefix", "app1:"}, env_of({})).config.redis_prefix,
            "app1:");
  EXPECT_THROW(parse_config({"--dev", "--redis-prefix", "a b"}, env_of({})), ConfigError);
  EXPECT_THROW(parse_config({"--dev", "--redis-prefix", ""}, env_of({})), ConfigError);
  // A hash tag in the prefix would put every key and channel in one cluster slot.
  EXPECT_THROW(parse_config({"--dev", "--redis-prefix", "{app}:"}, env_of({})), ConfigError);
}

TEST(ConfigRedisTest, DescribeMasksTheRedisPassword) {
  const Config c = parse_config({"--dev", "--redis-url", "redis://:hunter2@h"}, env_of({})).config;
  EXPECT_THAT(c.describe(), HasSubstr("REALTIME_REDIS_URL=redis://:****@h:6379"));
  EXPECT_THAT(c.describe(), Not(HasSubstr("hunter2")));
}

TEST(ConfigTypingTest, TimeoutIsBounded) {
  EXPECT_EQ(parse_config({"--dev", "--typing-timeout-seconds", "2"}, env_of({}))
                .config.typing_timeout_seconds,
            2);
  EXPECT_THROW(parse_config({"--dev", "--typing-timeout-seconds", "0"}, env_of({})), ConfigError);
}

}  // namespace
}  // namespace realtime

// ---------------------------------------------------------------------------------------------
// Last-seen persistence

namespace realtime {
namespace {

TEST(ConfigDatabaseTest, DefaultsToTheSqliteFileAndThePrimaryAccount) {
  const Config c = parse({}, required_env());
  EXPECT_EQ(c.database.kind, storage::DatabaseKind::sqlite);
  EXPECT_EQ(c.database.target, "./realtime.db");
  EXPECT_TRUE(c.database.defaulted);
  EXPECT_EQ(c.source_account_id, "primary");
  EXPECT_EQ(c.presence_pending_max, 100000u);
}

TEST(ConfigDatabaseTest, ReadsDatabaseUrlAccountAndPendingMax) {
  const Config c = parse({"--presence-pending-max", "50"},
                         with(with(required_env(), "DATABASE_URL", "postgres://db/chat"),
                              "REALTIME_SOURCE_ACCOUNT_ID", "app2"));
  EXPECT_EQ(c.database.kind, storage::DatabaseKind::postgres);
  EXPECT_EQ(c.source_account_id, "app2");
  EXPECT_EQ(c.presence_pending_max, 50u);
  EXPECT_EQ(parse({"--database-url", "none"}, required_env()).database.kind,
            storage::DatabaseKind::none);
}

TEST(ConfigDatabaseTest, BadDatabaseUrlNamesTheVariableWithoutThePassword) {
  const std::string e =
      config_error({}, with(required_env(), "DATABASE_URL", "mysql://u:hunter2@db/x"));
  EXPECT_THAT(e, HasSubstr("DATABASE_URL"));
  EXPECT_THAT(e, HasSubstr("sqlite:PATH"));
  EXPECT_THAT(e, Not(HasSubstr("hunter2")));
}

TEST(ConfigDatabaseTest, AccountIdMustFitTheColumn) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_SOURCE_ACCOUNT_ID", "")),
              HasSubstr("REALTIME_SOURCE_ACCOUNT_ID"));
  EXPECT_THAT(
      config_error({}, with(required_env(), "REALTIME_SOURCE_ACCOUNT_ID", std::string(129, 'a'))),
      HasSubstr("1-128 bytes"));
}

TEST(ConfigDatabaseTest, MigrateNeedsOnlyTheDatabaseSettings) {
  const ParsedCommandLine parsed = parse_config({"--migrate"}, env_of({{"DATABASE_URL", "none"}}));
  EXPECT_EQ(parsed.action, Action::migrate);
}

TEST(ConfigDatabaseTest, DescribeShowsTheDatabaseWithThePasswordMasked) {
  const std::string d =
      parse({}, with(required_env(), "DATABASE_URL", "postgres://u:hunter2@db/chat")).describe();
  EXPECT_THAT(d, HasSubstr("DATABASE_URL=postgres://u:****@db/chat"));
  EXPECT_THAT(d, Not(HasSubstr("hunter2")));
}

// ---------------------------------------------------------------------------------------------
// jwk_url

TEST(ConfigJwksTest, DefaultsAndSettings) {
  EXPECT_TRUE(parse({}, required_env()).jwks_ca_file.empty());
  EXPECT_EQ(parse({}, required_env()).jwks_startup_wait_seconds, 30);
  const Config c = parse({"--jwks-startup-wait-seconds", "0"},
                         with(required_env(), "REALTIME_JWKS_CA_FILE", "/dev/null"));
  EXPECT_EQ(c.jwks_ca_file, "/dev/null");
  EXPECT_EQ(c.jwks_startup_wait_seconds, 0);
}

TEST(ConfigJwksTest, BadValuesAreRefused) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_JWKS_CA_FILE", "/no/such/ca.pem")),
              HasSubstr("REALTIME_JWKS_CA_FILE=\"/no/such/ca.pem\": cannot read the file"));
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_JWKS_STARTUP_WAIT_SECONDS", "601")),
              HasSubstr("[0, 600]"));
}

TEST(ConfigJwksTest, DescribeShowsTheUrlWithoutItsQuery) {
  const std::string d =
      parse({}, with(required_env(), "HASURA_GRAPHQL_JWT_SECRET",
                     R"({"jwk_url":"https://idp.example/jwks.json?token=hunter2"})"))
          .describe();
  EXPECT_THAT(d, HasSubstr("HASURA_GRAPHQL_JWT_SECRET=jwk_url https://idp.example/jwks.json\n"));
  EXPECT_THAT(d, Not(HasSubstr("hunter2")));
  EXPECT_THAT(d, HasSubstr("REALTIME_JWKS_CA_FILE=(system CAs)\n"));
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

TEST(ConfigHistoryTest, NoTopicKeepsHistoryUnlessAskedAndTheVariablesSetTheDefaults) {
  const Config none = parse({}, required_env());
  EXPECT_FALSE(none.history.enabled());
  EXPECT_EQ(none.history.ttl, std::chrono::seconds(300));
  EXPECT_EQ(none.history.max_bytes, 1048576u);
  EnvMap env = required_env();
  env["REALTIME_HISTORY_SIZE"] = "100";
  env["REALTIME_HISTORY_TTL_SECONDS"] = "60";
  env["REALTIME_HISTORY_MAX_BYTES"] = "4096";
  const Config c = parse({}, env);
  EXPECT_EQ(c.history, (HistoryLimits{100, std::chrono::seconds(60), 4096}));
  EXPECT_EQ(parse({"--history-size", "5"}, required_env()).history.size, 5u);
}

TEST(ConfigHistoryTest, OutOfRangeValuesNameTheVariable) {
  EXPECT_NE(config_error({}, with(required_env(), "REALTIME_HISTORY_SIZE", "-1"))
                .find("REALTIME_HISTORY_SIZE"),
            std::string::npos);
  EXPECT_NE(config_error({}, with(required_env(), "REALTIME_HISTORY_SIZE", "100001"))
                .find("REALTIME_HISTORY_SIZE"),
            std::string::npos);
  EXPECT_NE(config_error({}, with(required_env(), "REALTIME_HISTORY_TTL_SECONDS", "0"))
                .find("REALTIME_HISTORY_TTL_SECONDS"),
            std::string::npos);
  EXPECT_NE(config_error({}, with(required_env(), "REALTIME_HISTORY_MAX_BYTES", "100"))
                .find("REALTIME_HISTORY_MAX_BYTES"),
            std::string::npos);
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

TEST(ConfigCompressionTest, OnWithA256ByteThresholdByDefault) {
  const Config c = parse({}, required_env());
  EXPECT_TRUE(c.compression);
  EXPECT_EQ(c.compression_min_bytes, 256u);
}

TEST(ConfigCompressionTest, ReadsTheSwitchAndTheThreshold) {
  EXPECT_FALSE(parse({}, with(required_env(), "REALTIME_COMPRESSION", "off")).compression);
  EXPECT_FALSE(parse({"--compression", "false"}, required_env()).compression);
  EXPECT_TRUE(
      parse({"--compression=on"}, with(required_env(), "REALTIME_COMPRESSION", "off")).compression);
  EXPECT_EQ(parse({"--compression-min-bytes", "0"}, required_env()).compression_min_bytes, 0u);
  EXPECT_EQ(parse({}, with(required_env(), "REALTIME_COMPRESSION_MIN_BYTES", "1024"))
                .compression_min_bytes,
            1024u);
}

TEST(ConfigCompressionTest, RefusesBadValuesByName) {
  EXPECT_THAT(config_error({}, with(required_env(), "REALTIME_COMPRESSION", "gzip")),
              HasSubstr("REALTIME_COMPRESSION=\"gzip\" is invalid: expected on or off"));
  EXPECT_THAT(config_error({"--compression-min-bytes", "-1"}, required_env()),
              HasSubstr("--compression-min-bytes"));
}

TEST(ConfigCompressionTest, DescribeShowsBoth) {
  const std::string text = parse({"--compression", "off"}, required_env()).describe();
  EXPECT_THAT(text, HasSubstr("REALTIME_COMPRESSION=off\n"));
  EXPECT_THAT(text, HasSubstr("REALTIME_COMPRESSION_MIN_BYTES=256\n"));
}

}  // namespace
}  // namespace realtime
