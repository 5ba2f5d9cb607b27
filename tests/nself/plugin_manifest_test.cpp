// nself/plugin.json against what the nself CLI's validator requires (internal/plugin/manifest.go:
// required fields, naming rules, semver, np_ tables, languages, statuses) and against the server
// itself: its version, port, tables, multi-app column, and exactly the environment variables it
// reads, each documented in docs/configuration.md.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "storage/migrate.hpp"
#include "storage/sql.hpp"

namespace realtime {
namespace {

namespace json = boost::json;

// The server's defaults, built once.
const Config& Defaults() {
  static const Config config;
  return config;
}

std::string ReadFile(const std::string& relative) {
  std::ifstream in(std::string(REALTIME_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in) << "cannot read " << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

json::object Manifest() {
  json::error_code ec;
  json::value v = json::parse(ReadFile("nself/plugin.json"), ec);
  EXPECT_FALSE(ec) << "nself/plugin.json is not JSON: " << ec.message();
  EXPECT_TRUE(v.is_object());
  return v.is_object() ? v.as_object() : json::object{};
}

std::string String(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::vector<std::string> Strings(const json::value& v) {
  std::vector<std::string> out;
  EXPECT_TRUE(v.is_array()) << "expected an array of strings";
  if (!v.is_array()) return out;
  for (const auto& item : v.as_array()) {
    EXPECT_TRUE(item.is_string());
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

// Every environment variable the server reads: parse_config asks its lookup for each one (a
// set variable stops the search for its fallbacks, so none is set here; REDIS_HOST is, because
// REDIS_PORT and REDIS_PASSWORD are read only with it).
std::set<std::string> ServerEnvVars() {
  std::set<std::string> asked;
  parse_config({"--dev"}, [&](const std::string& name) -> std::optional<std::string> {
    asked.insert(name);
    if (name == "REDIS_HOST") return "localhost";
    return std::nullopt;
  });
  return asked;
}

TEST(PluginManifestTest, HasTheFieldsTheNselfCliRequires) {
  const json::object m = Manifest();
  for (const char* field : {"name", "version", "description", "category", "license"}) {
    EXPECT_FALSE(String(m, field).empty()) << field << " is required";
  }
  EXPECT_TRUE(std::regex_match(String(m, "name"), std::regex("^[a-z][a-z0-9-]*$")));
  EXPECT_TRUE(std::regex_match(
      String(m, "version"),
      std::regex(R"(^v?[0-9]+\.[0-9]+\.[0-9]+(-[a-zA-Z0-9.]+)?(\+[a-zA-Z0-9.]+)?$)")));
  // One of the 13 categories of nself's plugin standards.
  const std::set<std::string> categories{
      "authentication", "automation",  "commerce",       "communication", "content",
      "data",           "development", "infrastructure", "integrations",  "media",
      "streaming",      "sports",      "compliance"};
  EXPECT_TRUE(categories.contains(String(m, "category"))) << String(m, "category");
  // The CLI accepts go, rust, typescript, python or bash: none is true of this server.
  EXPECT_FALSE(m.contains("language"));
  if (m.contains("status")) {
    const std::set<std::string> statuses{"experimental", "planned",    "beta",
                                         "stable",       "deprecated", "eol"};
    EXPECT_TRUE(statuses.contains(String(m, "status")));
  }
}

TEST(PluginManifestTest, DescribesThisServer) {
  const json::object m = Manifest();
  EXPECT_EQ(String(m, "name"), "realtime");
  EXPECT_EQ(String(m, "category"), "infrastructure");
  // One source of truth for the version: CMake's project(VERSION), compiled in.
  EXPECT_EQ(String(m, "version"), REALTIME_VERSION);
  EXPECT_EQ(String(m, "health_endpoint"), "/health");
  ASSERT_TRUE(m.contains("port"));
  EXPECT_EQ(m.at("port").to_number<int>(), Defaults().port);
  EXPECT_EQ(m.at("config").at("defaultPort").to_number<int>(), Defaults().port);
}

TEST(PluginManifestTest, ListsExactlyTheTablesTheMigrationsCreate) {
  std::set<std::string> created{std::string(storage::migrations_table)};
  const std::regex create(R"(CREATE TABLE IF NOT EXISTS (\w+))");
  for (const auto& m : storage::migrations(storage::SqlDialect::postgres)) {
    for (const auto& statement : m.statements) {
      std::smatch match;
      if (std::regex_search(statement, match, create)) created.insert(match[1]);
    }
  }
  const std::vector<std::string> listed = Strings(Manifest().at("tables"));
  for (const auto& t : listed) EXPECT_TRUE(t.starts_with("np_")) << t;
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), created);
}

TEST(PluginManifestTest, MultiAppIsolatesBySourceAccountIdDefaultingToPrimary) {
  const json::object multi = Manifest().at("multiApp").as_object();
  EXPECT_EQ(multi.at("supported"), true);
  EXPECT_EQ(String(multi, "isolationColumn"), "source_account_id");
  EXPECT_EQ(String(multi, "defaultValue"), Defaults().source_account_id);
  const std::string& create = storage::migrations(storage::SqlDialect::postgres)[0].statements[0];
  EXPECT_THAT(create, ::testing::HasSubstr("source_account_id VARCHAR(128) NOT NULL DEFAULT '" +
                                           Defaults().source_account_id + "'"));
}

TEST(PluginManifestTest, EnvVarsAreExactlyWhatTheServerReads) {
  const json::object vars = Manifest().at("envVars").as_object();
  const std::vector<std::string> required = Strings(vars.at("required"));
  const std::vector<std::string> optional = Strings(vars.at("optional"));
  std::set<std::string> listed(required.begin(), required.end());
  for (const auto& name : optional) {
    EXPECT_TRUE(listed.insert(name).second) << name << " is listed twice";
  }
  EXPECT_EQ(listed.size(), required.size() + optional.size());
  EXPECT_EQ(listed, ServerEnvVars());
}

TEST(PluginManifestTest, EveryEnvVarHasARowWithADefaultAndAMeaningInTheConfigurationDoc) {
  // Rows: | `NAME` (fallback `OTHER`) | flag | default | accepted | meaning |
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream doc(ReadFile("docs/configuration.md"));
  for (std::string line; std::getline(doc, line);) {
    if (!line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream in(line.substr(1));
    while (std::getline(in, cell, '|')) cells.push_back(cell);
    const std::regex name("`([A-Z][A-Z0-9_]+)`");
    for (std::sregex_iterator it(cells[0].begin(), cells[0].end(), name), end; it != end; ++it) {
      rows[(*it)[1]] = cells;
    }
  }
  for (const auto& var : ServerEnvVars()) {
    auto row = rows.find(var);
    ASSERT_NE(row, rows.end()) << var << " has no row in docs/configuration.md";
    ASSERT_GE(row->second.size(), 5u) << var;
    const auto blank = [](const std::string& s) {
      return s.find_first_not_of(" \t") == std::string::npos;
    };
    EXPECT_FALSE(blank(row->second[2])) << var << ": no default";
    EXPECT_FALSE(blank(row->second[4])) << var << ": no meaning";
  }
}

}  // namespace
}  // namespace realtime
