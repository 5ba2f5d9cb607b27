#pragma once

#include <cstddef>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>

namespace realtime {

// Storage for a JSON tree that lives only in the caller's scope (a publish body, a message from
// Redis): the first `StackBytes` on the stack, then a few growing blocks, all freed at once.
// The default storage makes an allocation per key, object, array and long string, several per
// published event. Declare the arena before the value so that the value goes first.
template <std::size_t StackBytes = 4096>
class JsonArena {
 public:
  JsonArena() = default;
  JsonArena(const JsonArena&) = delete;
  JsonArena& operator=(const JsonArena&) = delete;

  boost::json::storage_ptr storage() { return boost::json::storage_ptr(&resource_); }

 private:
  unsigned char first_block_[StackBytes];
  boost::json::monotonic_resource resource_{first_block_, StackBytes};
};

}  // namespace realtime
