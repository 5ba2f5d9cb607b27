// libFuzzer target: DATABASE_URL. Checks that parsing refuses with a message or accepts, and
// that describe() (what logs and --check-config print) never shows the password libpq would
// use. The check is skipped for URLs with percent-escapes, where the password libpq decodes is
// not the text in the URL.
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_support.hpp"
#include "storage/database_url.hpp"

using namespace realtime;

namespace {

// The password libpq reads from `uri`, empty when none.
std::string libpq_password(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  PQfreemem(error);
  std::string password;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

std::size_t occurrences(std::string_view text, std::string_view part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value = fuzz::as_text(data, size);
  storage::DatabaseUrl url;
  try {
    url = storage::parse_database_url(value);
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(e.what()[0] != '\0');
    return 0;
  }
  const std::string shown = url.describe();
  FUZZ_CHECK(!shown.empty());
  if (url.kind != storage::DatabaseKind::postgres) return 0;
  FUZZ_CHECK(url.target == value);
  if (value.find('%') != std::string_view::npos || value.find('\0') != std::string_view::npos) {
    return 0;
  }
  // A password that appears once in the URL is the password's own text: it must not show.
  const std::string password = libpq_password(url.target);
  // (Not one holding the mask's '*': the user's last bytes, ':' and **** could spell it.)
  if (password.size() >= 6 && occurrences(value, password) == 1 &&
      password.find('*') == std::string::npos) {
    FUZZ_CHECK(shown.find(password) == std::string::npos);
  }
  return 0;
}
