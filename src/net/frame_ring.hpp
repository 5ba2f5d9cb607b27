#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace realtime {

// A session's queue of encoded frames: a ring over a power-of-two array, so that queueing and
// writing allocate only when the queue outgrows its array (std::deque allocates and frees a
// node every 32 pointers pushed). Indices are logical (0 = front) and stay valid across growth,
// which a write in flight relies on. 24 bytes: one lives in every connection.
class FrameRing {
 public:
  using Frame = std::shared_ptr<const std::string>;
  // An emptied ring keeps an array up to this many slots (4 KiB); a bigger one, left by a
  // burst, is released so that a session does not keep its peak forever.
  static constexpr std::size_t kept_capacity = 256;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t capacity() const { return capacity_; }
  const Frame& operator[](std::size_t i) const { return slots_[(head_ + i) & (capacity_ - 1)]; }
  const Frame& front() const { return (*this)[0]; }
  const Frame& back() const { return (*this)[size_ - 1]; }

  void push_back(Frame f) {
    pushed_ = true;
    if (size_ == capacity_) grow();
    slots_[(head_ + size_) & (capacity_ - 1)] = std::move(f);
    ++size_;
  }
  void pop_front() {
    slots_[head_].reset();
    head_ = (head_ + 1) & (capacity_ - 1);
    if (--size_ == 0) emptied();
  }
  void pop_back() {
    slots_[(head_ + size_ - 1) & (capacity_ - 1)].reset();
    if (--size_ == 0) emptied();
  }
  void clear() {
    while (size_ > 0) pop_back();
  }
  // Gives back an empty ring's array: an idle connection then holds none (its next frame
  // allocates one again).
  void release() {
    if (size_ != 0) return;
    slots_.reset();
    capacity_ = 0;
    head_ = 0;
  }
  // Called now and then (the heartbeat sweep): release() unless a frame was pushed since the
  // last call, so that a connection that receives keeps its array.
  void release_if_unused() {
    if (!pushed_) release();
    pushed_ = false;
  }

 private:
  void grow() {
    // Two to start: an idle connection's welcome and subscribed replies.
    const std::uint32_t bigger = capacity_ == 0 ? 2 : 2 * capacity_;
    auto slots = std::make_unique<Frame[]>(bigger);
    for (std::uint32_t i = 0; i < size_; ++i)
      slots[i] = std::move(slots_[(head_ + i) & (capacity_ - 1)]);
    slots_ = std::move(slots);
    capacity_ = bigger;
    head_ = 0;
  }
  void emptied() {
    head_ = 0;
    if (capacity_ > kept_capacity) release();
  }

  std::unique_ptr<Frame[]> slots_;
  std::uint32_t capacity_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t size_ = 0;
  bool pushed_ = false;  // since the last release_if_unused()
};

}  // namespace realtime
