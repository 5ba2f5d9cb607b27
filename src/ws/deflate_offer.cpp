#include "ws/deflate_offer.hpp"

#include <boost/beast/http/rfc7230.hpp>

namespace realtime::ws {
namespace {

namespace http = boost::beast::http;

// Tokens compare without regard to ASCII case. Not beast::iequals: Boost 1.81's reads one byte
// past the end of its arguments once they differ in case (found by permessage_deflate_fuzz).
bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    const auto lower_x = x >= 'A' && x <= 'Z' ? x + 32 : x;
    const auto lower_y = y >= 'A' && y <= 'Z' ? y + 32 : y;
    if (lower_x != lower_y) return false;
  }
  return true;
}

// A window size parameter's value: 8..15, a token or a quoted string (RFC 7692 §7.1.2).
// `required`: server_max_window_bits must carry one, client_max_window_bits may not.
bool valid_window_bits(std::string_view value, bool required) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  } else if (value.empty()) {
    return !required;
  }
  if (value.size() == 1) return value[0] >= '8' && value[0] <= '9';
  return value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5';
}

int window_bits(std::string_view value) {
  if (value.front() == '"') value = value.substr(1, value.size() - 2);
  return value.size() == 1 ? value[0] - '0' : 10 + (value[1] - '0');
}

// Where an element Beast parsed ends: what follows it must be a comma or the end, else the
// offer was cut short by a syntax error (Beast stops there silently).
bool well_formed_until(std::string_view all, const char* end) {
  const std::size_t at = static_cast<std::size_t>(end - all.data());
  const auto next = all.find_first_not_of(" \t", at);
  return next == std::string_view::npos || all[next] == ',';
}

bool acceptable(std::string_view all, const http::ext_list::value_type& offer) {
  const char* end = offer.first.data() + offer.first.size();
  bool server_no_context = false, client_no_context = false;
  bool server_bits = false, client_bits = false;
  for (const auto& [name, value] : offer.second) {
    // Beast leaves the previous offer's parameters in place for a last offer without any.
    if (name.data() < offer.first.data()) break;
    end = (value.empty() ? name.data() + name.size() : value.data() + value.size());
    bool* seen = nullptr;
    if (same_token(name, "server_no_context_takeover")) {
      if (!value.empty()) return false;
      seen = &server_no_context;
    } else if (same_token(name, "client_no_context_takeover")) {
      if (!value.empty()) return false;
      seen = &client_no_context;
    } else if (same_token(name, "server_max_window_bits")) {
      if (!valid_window_bits(value, true) || window_bits(value) < 15) return false;
      seen = &server_bits;
    } else if (same_token(name, "client_max_window_bits")) {
      // We do not limit the client's window: our inflater takes any size up to 15.
      if (!valid_window_bits(value, false)) return false;
      seen = &client_bits;
    } else {
      return false;  // an unknown parameter declines the offer (§7.1)
    }
    if (*seen) return false;  // a parameter given twice declines it too
    *seen = true;
  }
  return well_formed_until(all, end);
}

}  // namespace

bool accepts_deflate_offer(std::string_view extensions) {
  for (const auto& offer : http::ext_list(extensions)) {
    if (!same_token(offer.first, "permessage-deflate")) continue;
    if (acceptable(extensions, offer)) return true;
  }
  return false;
}

}  // namespace realtime::ws
