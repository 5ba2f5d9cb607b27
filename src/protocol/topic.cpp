#include "protocol/topic.hpp"

namespace realtime {

bool is_valid_name(std::string_view name, std::size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes) return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' || ch == '@' ||
                    ch == '/' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_topic(std::string_view topic) { return is_valid_name(topic, max_topic_bytes); }

}  // namespace realtime
