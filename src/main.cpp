#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "config/config.hpp"
#include "server/server.hpp"
#include "storage/migrate.hpp"
#include "util/log.hpp"
#include "util/systemd_notify.hpp"

namespace {

// The demo page: installed, at ../share/nself-realtime/web from the binary (any prefix, also a
// package unpacked anywhere); in a build tree, next to the sources.
std::string find_static_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const auto& dir :
       {ec ? std::filesystem::path() : exe.parent_path() / "../share/nself-realtime/web",
        std::filesystem::path(REALTIME_SOURCE_STATIC_DIR)}) {
    if (!dir.empty() && std::filesystem::is_directory(dir, ec)) {
      return dir.lexically_normal().string();
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace realtime;
  ParsedCommandLine parsed;
  try {
    parsed = parse_config(std::vector<std::string>(argv + 1, argv + argc), process_env());
  } catch (const ConfigError& e) {
    std::cerr << "nself-realtime: configuration error: " << e.what() << '\n';
    return 2;
  }
  switch (parsed.action) {
    case Action::help:
      std::cout << usage_text();
      return 0;
    case Action::version:
      std::cout << "nself-realtime " << REALTIME_VERSION << '\n';
      return 0;
    case Action::check_config:
      std::cout << parsed.config.describe();
      return 0;
    case Action::migrate:
    case Action::run:
      break;
  }

  // A peer that vanishes mid-write must cost an error code, never the process.
  std::signal(SIGPIPE, SIG_IGN);

  init_logging(parsed.config);
  if (parsed.action == Action::migrate) {
    const auto& url = parsed.config.database;
    auto result =
        storage::migrate_database(url, std::chrono::steady_clock::now() + std::chrono::seconds(30));
    if (auto* err = std::get_if<storage::DbError>(&result)) {
      spdlog::critical("migrate {}: {}", url.describe(), err->message);
      return 1;
    }
    spdlog::info("migrate {}: {} migration(s) applied, schema up to date", url.describe(),
                 std::get<int>(result));
    return 0;
  }
  if (parsed.config.dev) {
    spdlog::warn(
        "DEV MODE: anonymous clients may connect as any user, any origin is allowed, and the "
        "server-side endpoints are open from loopback{}. Never run this in production.",
        parsed.config.api_key.empty() ? "" : " (the API key is still checked)");
  }
  try {
    Server server(parsed.config, find_static_dir(parsed.config.static_dir));
    server.start();
    // The port accepts connections now: `systemctl start` may return.
    notify_ready("listening on port " + std::to_string(server.port()));
    return server.run_until_signal();
  } catch (const ConfigError& e) {
    // Found only when starting: a check's SQL that does not prepare, a jwk_url that never answered.
    spdlog::critical("cannot start: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}
