#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace realtime {

// Recycles the memory of sessions' waits for a writable socket on one shard (a session writes
// with its own sendmsg; only a full socket makes it wait). Asio allocates each async operation
// through the handler's associated allocator, and its default cache lives only as long as one
// run_one()/poll_one() call of the shard's loop, so a burst of slow sockets would malloc once per
// wait. Single-threaded: the shard's loop only.
class WriteOpPool {
 public:
  // A session's wait op fits with room to spare; a bigger operation (e.g. in a sanitizer build)
  // falls back to operator new, which is correct, only not recycled.
  static constexpr std::size_t block_size = 640;
  static constexpr std::size_t max_free = 8192;  // at most 5 MiB kept per shard

  WriteOpPool() = default;
  WriteOpPool(const WriteOpPool&) = delete;
  WriteOpPool& operator=(const WriteOpPool&) = delete;
  ~WriteOpPool() {
    for (void* p : free_) ::operator delete(p);
  }

  void* allocate(std::size_t n) {
    if (n > block_size) return ::operator new(n);
    if (free_.empty()) return ::operator new(block_size);
    void* p = free_.back();
    free_.pop_back();
    return p;
  }
  void deallocate(void* p, std::size_t n) {
    if (n > block_size || free_.size() >= max_free) return ::operator delete(p);
    free_.push_back(p);
  }

 private:
  std::vector<void*> free_;
};

// The allocator to bind to a write handler (boost::asio::bind_allocator).
template <class T>
struct WriteOpAllocator {
  using value_type = T;
  WriteOpPool* pool;

  explicit WriteOpAllocator(WriteOpPool* p) : pool(p) {}
  template <class U>
  WriteOpAllocator(const WriteOpAllocator<U>& other) : pool(other.pool) {}
  T* allocate(std::size_t n) { return static_cast<T*>(pool->allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) { pool->deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const WriteOpAllocator<U>& other) const {
    return pool == other.pool;
  }
};

}  // namespace realtime
