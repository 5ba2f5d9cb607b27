// Heap allocations on the delivery hot path (issue 6): an in-process server, real TCP
// WebSocket subscribers, and malloc (under operator new) replaced by a counting one. Also the
// heap an idle connection keeps (issue 18).
//
// What is asserted is the per-subscriber cost (measured: 0, the same count with 20 and with 200
// subscribers; the bound of 0.01 per delivery leaves room for a rare container growth): the same
// publishes are measured with few and with many subscribers, and the difference divided by the
// extra deliveries is what each delivered message costs per subscriber. Parsing the publish request
// and encoding each event once are per-event costs and cancel out. The test thread's own
// allocations are not counted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "server/server.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};
thread_local bool t_excluded = false;  // the test thread: its own allocations are not the server's

inline void count_one() {
  if (g_counting.load(std::memory_order_relaxed) && !t_excluded)
    g_allocations.fetch_add(1, std::memory_order_relaxed);
}

// Heap the server's threads hold (malloc's usable sizes, always counted): blocks are taken back
// on the thread that frees them, so only a slope between two moments means anything.
std::atomic<std::int64_t> g_live_bytes{0};

inline void note_allocated(void* p) {
  if (p != nullptr && !t_excluded) {
    g_live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)),
                           std::memory_order_relaxed);
  }
}
inline void note_freed(void* p) {
  if (p != nullptr && !t_excluded) {
    g_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)),
                           std::memory_order_relaxed);
  }
}

}  // namespace

// Counted at malloc rather than operator new: Asio allocates its operations with
// std::aligned_alloc, and C libraries (hiredis, OpenSSL) call malloc directly. The executable's
// definitions take precedence over libc's; glibc's own entry points do the work.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) {
  count_one();
  void* p = __libc_malloc(n);
  note_allocated(p);
  return p;
}
void* calloc(std::size_t n, std::size_t size) {
  count_one();
  void* p = __libc_calloc(n, size);
  note_allocated(p);
  return p;
}
void* realloc(void* p, std::size_t n) {
  count_one();
  note_freed(p);
  void* q = __libc_realloc(p, n);
  note_allocated(q == nullptr && n != 0 ? p : q);  // a failed realloc keeps the old block
  return q;
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  count_one();
  void* p = __libc_memalign(align, n);
  note_allocated(p);
  return p;
}
void* memalign(std::size_t align, std::size_t n) {
  count_one();
  void* p = __libc_memalign(align, n);
  note_allocated(p);
  return p;
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  count_one();
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  note_allocated(p);
  *out = p;
  return 0;
}
void free(void* p) {
  note_freed(p);
  __libc_free(p);
}
}

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until `needle` appears (or the deadline); returns what was read.
std::string read_until(int fd, const std::string& needle, double seconds = 10) {
  std::string got;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  char buf[4096];
  while (got.find(needle) == std::string::npos && Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

std::string masked_text(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  f.push_back(static_cast<char>(0x80 | payload.size()));  // < 126 bytes here
  const unsigned char mask[4] = {1, 2, 3, 4};
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  return f;
}

// One subscriber: a raw socket and a frame counter over a fixed buffer (no allocation while
// reading, so that the reader could be counted too).
struct Subscriber {
  int fd = -1;
  std::size_t frames = 0;
  std::size_t compressed = 0;  // frames with RSV1 (permessage-deflate)
  std::size_t have = 0;
  char buf[1 << 16];

  // Reads what is there; counts complete frames.
  bool pump() {
    for (;;) {
      auto n = ::recv(fd, buf + have, sizeof buf - have, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      have += static_cast<std::size_t>(n);
      std::size_t off = 0;
      for (;;) {
        const auto* p = reinterpret_cast<const unsigned char*>(buf + off);
        const std::size_t left = have - off;
        if (left < 2) break;
        std::size_t len = p[1] & 0x7F, header = 2;
        if (len == 126) {
          if (left < 4) break;
          len = (std::size_t(p[2]) << 8) | p[3];
          header = 4;
        } else if (len == 127) {
          return false;  // no frame here is that big
        }
        if (left < header + len) break;
        off += header + len;
        ++frames;
        if ((p[0] & 0x40) != 0) ++compressed;
      }
      std::memmove(buf, buf + off, have - off);
      have -= off;
    }
  }
};

class HotPathAllocations : public ::testing::Test {
 protected:
  void SetUp() override {
    t_excluded = true;
    spdlog::set_level(spdlog::level::warn);
    auto parsed =
        realtime::parse_config({"--dev", "--host", "127.0.0.1", "--port", "0", "--threads", "1",
                                "--log-level", "warn", "--max-connections", "2000"},
                               [](const std::string&) { return std::optional<std::string>(); });
    server_ = std::make_unique<realtime::Server>(parsed.config, "");
    server_->start();
    port_ = server_->port();
  }

  void TearDown() override {
    for (auto& s : subs_) ::close(s->fd);
    subs_.clear();
    if (pub_ >= 0) ::close(pub_);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server_.reset();
  }

  // Connects and subscribes up to `n` subscribers on the topic, then lets presence traffic end.
  void subscribers(std::size_t n) {
    while (subs_.size() < n) {
      auto s = std::make_unique<Subscriber>();
      s->fd = connect_to(port_);
      ASSERT_GE(s->fd, 0);
      const std::string user = "u" + std::to_string(subs_.size());
      ASSERT_TRUE(
          send_all(s->fd, "GET /realtime/connect?user=" + user +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
                              (deflate_ ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "") +
                              "\r\n"));
      ASSERT_TRUE(send_all(s->fd, masked_text(R"({"type":"subscribe","topic":"channel:alloc"})")));
      const std::string got = read_until(s->fd, "\"subscribed\"");
      ASSERT_NE(got.find("\"subscribed\""), std::string::npos) << got.substr(0, 300);
      subs_.push_back(std::move(s));
    }
    settle();
  }

  // Reads until nothing arrived for 300 ms (presence changes after the joins).
  void settle() {
    auto quiet_since = Clock::now();
    while (Clock::now() - quiet_since < std::chrono::milliseconds(300)) {
      std::size_t before = 0, after = 0;
      for (auto& s : subs_) before += s->frames;
      for (auto& s : subs_) ASSERT_TRUE(s->pump());
      for (auto& s : subs_) after += s->frames;
      if (after != before) quiet_since = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& s : subs_) s->frames = 0;
  }

  // `requests` publishes of `events` events each; each request waits until every subscriber
  // got the previous one, so with events = 1 every write carries one frame (the chat case).
  // Returns the allocations counted on the server's threads.
  std::uint64_t publish_and_count(int requests, int events) {
    if (pub_ < 0) pub_ = connect_to(port_);
    std::string body = "{\"messages\":[";
    for (int i = 0; i < events; ++i) {
      if (i) body += ',';
      body += R"({"topic":"channel:alloc","event":"bench","data":{"i":)" + std::to_string(i) +
              R"(,"p":")" + padding_ + R"("}})";
    }
    body += "]}";
    const std::string request =
        "POST /realtime/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    for (auto& s : subs_) s->frames = 0;
    g_allocations = 0;
    g_counting = true;
    for (int r = 0; r < requests; ++r) {
      EXPECT_TRUE(send_all(pub_, request));
      const std::size_t want = static_cast<std::size_t>(events) * static_cast<std::size_t>(r + 1);
      const auto deadline = Clock::now() + std::chrono::seconds(20);
      bool all = false;
      while (!all && Clock::now() < deadline) {
        all = true;
        for (auto& s : subs_) {
          EXPECT_TRUE(s->pump());
          if (s->frames < want) all = false;
        }
        if (!all) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      EXPECT_TRUE(all) << "deliveries missing after request " << r;
      // The publish responses: read so the connection never backs up (not counted: this thread).
      char drain[4096];
      while (::recv(pub_, drain, sizeof drain, MSG_DONTWAIT) > 0) {
      }
    }
    g_counting = false;
    return g_allocations.load();
  }

  // Allocations per delivery per subscriber: the slope between `few` and `many` subscribers.
  double per_delivery(int requests, int events, std::size_t few, std::size_t many,
                      const char* name) {
    subscribers(few);
    publish_and_count(2, events);  // warm-up: pools, buffers and queues reach their size
    const auto a_few = publish_and_count(requests, events);
    subscribers(many);
    publish_and_count(2, events);
    const auto a_many = publish_and_count(requests, events);
    const double deliveries = double(requests) * events;
    const double slope = (double(a_many) - double(a_few)) / (deliveries * double(many - few));
    std::printf(
        "[alloc] %s: %d requests x %d events; %zu subscribers: %llu allocations (%.3f per event), "
        "%zu subscribers: %llu (%.3f per event); per delivery per subscriber: %.4f\n",
        name, requests, events, few, static_cast<unsigned long long>(a_few),
        double(a_few) / deliveries, many, static_cast<unsigned long long>(a_many),
        double(a_many) / deliveries, slope);
    std::fflush(stdout);
    return slope;
  }

  // Subscribers offer permessage-deflate; events are then large enough to be compressed.
  void use_deflate() {
    deflate_ = true;
    padding_ =
        "Has anyone looked at the deploy from this morning? The realtime numbers look better "
        "than last week, fan-out is fine and the presence diffs are small. Ada Lovelace "
        "(user-1842) reacted with thumbsup; mentions: user-77, user-1003; channel general.";
  }
  std::size_t compressed_frames() const {
    std::size_t n = 0;
    for (const auto& s : subs_) n += s->compressed;
    return n;
  }

  std::unique_ptr<realtime::Server> server_;
  std::uint16_t port_ = 0;
  bool deflate_ = false;
  std::string padding_ = std::string(64, 'x');
  std::vector<std::unique_ptr<Subscriber>> subs_;
  int pub_ = -1;
};

// Fan-out: batches of 100 events, each subscriber's frames leave in gather writes.
TEST_F(HotPathAllocations, BatchedFanoutAllocatesNothingPerSubscriberPerMessage) {
  const double slope = per_delivery(10, 100, 20, 200, "fanout batches of 100");
  EXPECT_LT(slope, 0.01);
}

// One event per publish: every delivery is a write of its own (the chat case).
TEST_F(HotPathAllocations, SingleFrameWritesAllocateNothingPerSubscriber) {
  const double slope = per_delivery(50, 1, 20, 200, "single-event publishes");
  EXPECT_LT(slope, 0.01);
}

// permessage-deflate: each event is compressed once per publish by the first subscriber that
// needs it; every other subscriber sends that same frame, so the slope stays 0.
TEST_F(HotPathAllocations, DeflateSubscribersAllocateNothingPerSubscriberPerMessage) {
  use_deflate();
  const double slope = per_delivery(10, 100, 20, 200, "fanout batches of 100, deflate");
  EXPECT_LT(slope, 0.01);
  EXPECT_GT(compressed_frames(), 0u);
}

// What an idle subscribed connection keeps on the heap, as the slope between 20 and 220 of them
// (each its own user; session, socket state, presence, registry, the pending read). A budget,
// not a timing: today's figure (1,113 bytes) with ~12 % room, so that a change that makes every
// idle connection bigger says so here. With the read wait holding the block Asio recycled from
// the upgrade's HTTP read it measures ~1,370 (docs/performance.md, "The read wait's block").
TEST_F(HotPathAllocations, AnIdleConnectionKeepsItsHeapWithinBudget) {
  constexpr double budget_bytes = 1250;
  subscribers(20);
  const std::int64_t few = g_live_bytes.load();
  subscribers(220);
  const std::int64_t many = g_live_bytes.load();
  const double per_connection = double(many - few) / 200;
  std::printf("[alloc] heap kept per idle connection: %.0f bytes (budget %.0f)\n", per_connection,
              budget_bytes);
  std::fflush(stdout);
  EXPECT_LT(per_connection, budget_bytes);
  EXPECT_GT(per_connection, 0);
}

TEST_F(HotPathAllocations, DeflateSingleFrameWritesAllocateNothingPerSubscriber) {
  use_deflate();
  const double slope = per_delivery(50, 1, 20, 200, "single-event publishes, deflate");
  EXPECT_LT(slope, 0.01);
  EXPECT_GT(compressed_frames(), 0u);
}

}  // namespace
