#include "storage/presence_row.hpp"

namespace realtime::storage {

bool storable_user_id(std::string_view id) {
  if (id.empty() || id.size() > max_user_id_bytes) return false;
  std::size_t i = 0;
  while (i < id.size()) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c == 0) return false;
    std::size_t len = 1;
    std::uint32_t cp = c;
    if (c >= 0x80) {
      if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F;
      } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F;
      } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07;
      } else {
        return false;
      }
      if (i + len > id.size()) return false;
      for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(id[i + k]);
        if ((cc & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (cc & 0x3F);
      }
      static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace realtime::storage
