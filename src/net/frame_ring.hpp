#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace realtime {

// A session's queue of encoded frames: a ring over a power-of-two array, so that queueing and
// writing allocate only when the queue outgrows its array (std::deque allocates and frees a
// node every 32 pointers pushed). Indices are logical (0 = front) and stay valid across growth,
// which a write in flight relies on.
class FrameRing {
 public:
  using Frame = std::shared_ptr<const std::string>;
  // An emptied ring keeps an array up to this many slots (4 KiB); a bigger one, left by a
  // burst, is released so that a session does not keep its peak forever.
  static constexpr std::size_t kept_capacity = 256;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Frame& operator[](std::size_t i) const { return slots_[(head_ + i) & (slots_.size() - 1)]; }
  const Frame& front() const { return (*this)[0]; }
  const Frame& back() const { return (*this)[size_ - 1]; }

  void push_back(Frame f) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(f);
    ++size_;
  }
  void pop_front() {
    slots_[head_].reset();
    head_ = (head_ + 1) & (slots_.size() - 1);
    if (--size_ == 0) emptied();
  }
  void pop_back() {
    slots_[(head_ + size_ - 1) & (slots_.size() - 1)].reset();
    if (--size_ == 0) emptied();
  }
  void clear() {
    while (size_ > 0) pop_back();
  }

 private:
  void grow() {
    std::vector<Frame> bigger(slots_.empty() ? 4 : 2 * slots_.size());
    for (std::size_t i = 0; i < size_; ++i)
      bigger[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
    slots_ = std::move(bigger);
    head_ = 0;
  }
  void emptied() {
    head_ = 0;
    if (slots_.size() > kept_capacity) std::vector<Frame>().swap(slots_);
  }

  std::vector<Frame> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace realtime
