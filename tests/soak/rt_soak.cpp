// rt-soak: the soak test of docs/reliability.md (`make soak`, not part of `make test`).
//
// Redis and two nodes of the real binary, clients on both: readers that keep up (pinged, so
// the heartbeat keeps them), slow readers (closed with 4008 once they fall too far behind),
// silent ones (never ping: the heartbeat closes them, then new ones come), and churn (readers
// leave and new ones join every second). Publishers send sequenced, timestamped events at half
// the fan-out rate this setup reaches (measured first) or SOAK_RATE. Every SOAK_SAMPLE seconds
// the nodes' RSS and descriptors, Redis' memory, the delivery rate and latency go to a CSV.
// Pass: no lost and no duplicate event for the readers that keep up, no failed publish, no
// reader dropped, slow and silent readers closed, no growth trend after the warm-up, p99 steady.
// Exit 0 on pass, 1 on fail.
//
// Settings (environment): SOAK_MINUTES (30), SOAK_WARMUP_MINUTES (a fifth of the run, at most
// 5), SOAK_RATE (deliveries/s; 0: half the measured maximum), SOAK_SAMPLE (10 s), SOAK_CSV
// (soak.csv), SOAK_READERS (200 per node), SOAK_TOPICS (10).
#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

using namespace realtime::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double env_number(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atof(v) : fallback;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string topic_name(std::size_t t) { return "soak." + std::to_string(t); }

// A field `"key":NUMBER` of an encoded frame, without parsing the JSON.
std::optional<std::int64_t> scan_int(std::string_view frame, std::string_view key) {
  const auto at = frame.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  std::size_t i = at + key.size();
  bool any = false;
  while (i < frame.size() && frame[i] >= '0' && frame[i] <= '9') {
    v = v * 10 + (frame[i++] - '0');
    any = true;
  }
  return any ? std::optional(v) : std::nullopt;
}

// Per-window delivery statistics, shared by every reader callback.
struct Window {
  std::mutex mutex;
  std::vector<std::int64_t> latency_ms;
  std::uint64_t deliveries = 0;

  void add(std::int64_t ms) {
    std::lock_guard lock(mutex);
    ++deliveries;
    if (latency_ms.size() < 200000) latency_ms.push_back(ms);
  }
  // deliveries, p50, p99 of the window, which starts again.
  std::tuple<std::uint64_t, double, double> take() {
    std::lock_guard lock(mutex);
    std::vector<std::int64_t> v;
    v.swap(latency_ms);
    const std::uint64_t n = deliveries;
    deliveries = 0;
    if (v.empty()) return {n, 0, 0};
    std::sort(v.begin(), v.end());
    auto q = [&](double p) {
      return static_cast<double>(v[static_cast<std::size_t>(p * (v.size() - 1))]);
    };
    return {n, q(0.5), q(0.99)};
  }
};

// Readers that keep up, on one node: each reads one topic and checks that its events' seqs
// follow each other (a gap is a lost event, a repeat a duplicate) from its first one on.
class Readers {
 public:
  Readers(std::uint16_t port, std::string prefix, std::size_t topics, Window& window)
      : prefix_(std::move(prefix)),
        topics_(topics),
        window_(window),
        pool_(port, [this](std::size_t i, std::string_view text) { on_frame(i, text); }) {}

  // Opens `count` readers (blocking), round robin over the topics.
  void open(std::size_t count) {
    std::lock_guard lock(open_mutex_);
    const std::size_t first = pool_.size();
    {
      std::lock_guard state(mutex_);
      for (std::size_t i = 0; i < count; ++i) states_.push_back({(first + i) % topics_, -1, true});
    }
    pool_.Open(
        count,
        [&](std::size_t i) {
          return ConnectTarget(prefix_ + std::to_string(i), {topic_name(i % topics_)});
        },
        32, 120s);
  }
  // Reader `i` leaves (a close handshake); it is not checked any more.
  void close(std::size_t i) {
    {
      std::lock_guard lock(mutex_);
      states_.at(i).active = false;
    }
    pool_.CloseOne(i);
  }
  void ping_all() { pool_.SendToAll(R"({"type":"ping"})"); }
  std::size_t size() const { return pool_.size(); }
  std::size_t unexpected_ends() const { return pool_.unexpected_ends(); }
  std::vector<std::string> failures() const { return pool_.failures(); }
  std::uint64_t lost() const { return lost_.load(); }
  std::uint64_t duplicates() const { return duplicates_.load(); }
  std::size_t active() {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(states_.begin(), states_.end(), [](const State& s) { return s.active; }));
  }
  bool active(std::size_t i) {
    std::lock_guard lock(mutex_);
    return states_.at(i).active;
  }

 private:
  struct State {
    std::size_t topic;
    std::int64_t last_seq;
    bool active;
  };
  void on_frame(std::size_t i, std::string_view text) {
    const auto seq = scan_int(text, R"("seq":)");
    if (!seq) return;
    if (const auto t = scan_int(text, R"("t":)")) window_.add(unix_ms() - *t);
    std::lock_guard lock(mutex_);
    State& s = states_.at(i);
    if (!s.active) return;
    if (s.last_seq >= 0) {
      if (*seq <= s.last_seq) {
        ++duplicates_;
      } else if (*seq > s.last_seq + 1) {
        lost_ += static_cast<std::uint64_t>(*seq - s.last_seq - 1);
      }
    }
    s.last_seq = std::max(s.last_seq, *seq);
  }

  std::string prefix_;
  std::size_t topics_;
  Window& window_;
  std::mutex mutex_, open_mutex_;
  std::vector<State> states_;
  std::atomic<std::uint64_t> lost_{0}, duplicates_{0};
  ClientPool pool_;
};

// One publisher per topic, on the topic's node, with its own keep-alive connection: batches of
// `batch` events, paced to `events_per_second`.
class Publishers {
 public:
  Publishers(std::vector<std::uint16_t> ports, std::size_t topics)
      : ports_(std::move(ports)), topics_(topics), next_seq_(topics, 0) {}

  void start(double events_per_second_per_topic, std::size_t batch) {
    stop_ = false;
    for (std::size_t t = 0; t < topics_; ++t) {
      threads_.emplace_back([this, t, events_per_second_per_topic, batch] {
        HttpConnection http(ports_[t % ports_.size()]);
        const auto interval = std::chrono::duration<double>(batch / events_per_second_per_topic);
        auto due = Clock::now();
        while (!stop_) {
          std::vector<std::string> messages;
          const std::int64_t now = unix_ms();
          for (std::size_t k = 0; k < batch; ++k) {
            messages.push_back(EventJson(topic_name(t), "soak",
                                         R"({"seq":)" + std::to_string(next_seq_[t]++) +
                                             R"(,"t":)" + std::to_string(now) + "}"));
          }
          try {
            const HttpResponse r = http.PostJson("/realtime/publish", BatchJson(messages));
            if (r.status != 202) failed_ += batch;
          } catch (const std::exception&) {
            failed_ += batch;
          }
          published_ += batch;
          due += std::chrono::duration_cast<Clock::duration>(interval);
          if (due > Clock::now()) {
            std::this_thread::sleep_until(due);
          } else if (Clock::now() - due > 1s) {
            due = Clock::now();  // behind: don't burst to catch up
            ++behind_;
          }
        }
      });
    }
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  std::uint64_t published() const { return published_.load(); }
  std::uint64_t failed() const { return failed_.load(); }
  std::uint64_t behind() const { return behind_.load(); }

 private:
  std::vector<std::uint16_t> ports_;
  std::size_t topics_;
  std::vector<std::int64_t> next_seq_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> published_{0}, failed_{0}, behind_{0};
  std::vector<std::thread> threads_;
};

// Slow readers: every topic, one message every 50 ms, a small receive buffer; the server closes
// them (4008) once they fall too far behind, and when they notice they come back. They ping
// every 5 s: silent, the 10 s heartbeat would close them (4009) long before their queue and the
// kernel's buffers (megabytes) fill, as it did in the first soaks.
class SlowReaders {
 public:
  SlowReaders(std::vector<std::uint16_t> ports, std::size_t count, std::size_t topics) {
    std::vector<std::string> all;
    for (std::size_t t = 0; t < topics; ++t) all.push_back(topic_name(t));
    for (std::size_t i = 0; i < count; ++i) {
      threads_.emplace_back([this, port = ports[i % ports.size()], i, all] {
        WsConnectOptions options;
        options.receive_buffer_bytes = 4096;
        std::unique_ptr<WsClient> client;
        auto pinged = Clock::now();
        while (!stop_) {
          try {
            if (!client) {
              client = ConnectUser(port, "slow" + std::to_string(i), all, options);
              pinged = Clock::now();
            }
            if (Clock::now() - pinged >= 5s) {
              client->Send(R"({"type":"ping"})");
              pinged = Clock::now();
            }
            const ReadResult r = client->Read(5s);
            if (r.kind == ReadResult::Kind::kMessage) {
              std::this_thread::sleep_for(50ms);
              continue;
            }
            if (r.kind == ReadResult::Kind::kClosed && r.close_code == 4008) ++slow_closes_;
          } catch (const std::exception&) {
          }
          ++ends_;
          client.reset();
        }
      });
    }
  }
  ~SlowReaders() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  std::uint64_t ends() const { return ends_.load(); }
  std::uint64_t slow_closes() const { return slow_closes_.load(); }  // 4008s they read

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ends_{0}, slow_closes_{0};
  std::vector<std::thread> threads_;
};

std::uint64_t redis_used_memory(const RedisProcess& redis) {
  const std::string info = redis.Command({"INFO", "memory"});
  return static_cast<std::uint64_t>(scan_int(info, "used_memory:").value_or(0));
}

// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

}  // namespace

int main() {
  const double minutes = env_number("SOAK_MINUTES", 30);
  const double warmup_minutes = env_number("SOAK_WARMUP_MINUTES", std::min(5.0, minutes / 5));
  const auto sample = std::chrono::seconds(static_cast<int>(env_number("SOAK_SAMPLE", 10)));
  const std::size_t readers_per_node = static_cast<std::size_t>(env_number("SOAK_READERS", 200));
  const std::size_t topics = static_cast<std::size_t>(env_number("SOAK_TOPICS", 10));
  const std::string csv_path = std::getenv("SOAK_CSV") ? std::getenv("SOAK_CSV") : "soak.csv";
  double rate = env_number("SOAK_RATE", 0);

  RedisProcess redis;
  const auto node_args = [&] {
    return ServerProcess::DevArgs({"--redis-url", redis.Url(), "--heartbeat-seconds", "10"});
  };
  ServerProcess a(node_args()), b(node_args());
  for (const ServerProcess* node : {&a, &b}) {
    if (!WaitUntil([&] { return HttpGet(node->port(), "/health").status == 200; }, 30s)) {
      std::cerr << "soak: node not healthy\n" << node->Log();
      return 1;
    }
  }
  const std::vector<std::uint16_t> ports{a.port(), b.port()};
  Window window;
  const auto slow_consumer_closes = [&] {
    return ScrapeMetric(a.port(), "realtime_slow_consumer_closes_total") +
           ScrapeMetric(b.port(), "realtime_slow_consumer_closes_total");
  };

  // The maximum: readers only, publishers as fast as the nodes answer (batches of 50).
  if (rate <= 0) {
    Window calibration;
    Readers ra(a.port(), "cal-a-", topics, calibration),
        rb(b.port(), "cal-b-", topics, calibration);
    ra.open(readers_per_node);
    rb.open(readers_per_node);
    Publishers fast(ports, topics);
    (void)calibration.take();
    fast.start(1e9, 50);
    std::this_thread::sleep_for(10s);
    const auto [delivered, p50, p99] = calibration.take();
    fast.stop();
    const double max_rate = static_cast<double>(delivered) / 10.0;
    rate = max_rate / 2;
    std::this_thread::sleep_for(3s);  // let the calibration readers' closes settle
    std::cerr << "soak: maximum fan-out here " << static_cast<std::uint64_t>(max_rate)
              << " deliveries/s (p99 " << p99 << " ms at full speed, " << slow_consumer_closes()
              << " readers closed as slow consumers); running at half\n";
  }
  // The soak's own slow-consumer closes, not the calibration's.
  const double closes_before = slow_consumer_closes();

  Readers ra(a.port(), "a-", topics, window), rb(b.port(), "b-", topics, window);
  Readers sa(a.port(), "silent-a-", topics, window), sb(b.port(), "silent-b-", topics, window);
  ra.open(readers_per_node);
  rb.open(readers_per_node);
  const std::size_t silent_per_node = std::max<std::size_t>(1, readers_per_node / 20);
  sa.open(silent_per_node);
  sb.open(silent_per_node);
  SlowReaders slow(ports, std::max<std::size_t>(2, readers_per_node / 20), topics);

  // Each reader reads one topic: deliveries/s = events/s per topic x all the readers.
  const double events_per_topic = rate / (2.0 * static_cast<double>(readers_per_node));
  const std::size_t batch =
      std::clamp<std::size_t>(static_cast<std::size_t>(events_per_topic / 50), 1, 100);
  Publishers publishers(ports, topics);
  publishers.start(events_per_topic, batch);
  std::cerr << "soak: " << minutes << " min at " << static_cast<std::uint64_t>(rate)
            << " deliveries/s (" << events_per_topic << " events/s on each of " << topics
            << " topics, batches of " << batch << "), " << 2 * readers_per_node << " readers, "
            << 2 * silent_per_node << " silent, " << std::max<std::size_t>(2, readers_per_node / 20)
            << " slow; samples every " << sample.count() << " s to " << csv_path << "\n";

  std::ofstream csv(csv_path);
  csv << "seconds,rss_a_mib,rss_b_mib,fds_a,fds_b,redis_used_mib,deliveries_per_s,p50_ms,p99_ms,"
         "lost,duplicates,failed_publishes,readers,slow_consumer_closes,silent_closed,churned\n";
  std::mt19937 rng(7);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(minutes * 60));
  auto next_sample = start + sample;
  std::uint64_t churned = 0;
  std::size_t silent_seen_a = 0, silent_seen_b = 0;
  std::vector<double> xs, rss_a, rss_b, fds_a, fds_b, redis_mem, p99s;
  (void)window.take();
  while (Clock::now() < end) {
    // Every second: keep-alive pings for the readers, churn of 1 % of them, and new silent
    // readers for those the heartbeat closed.
    ra.ping_all();
    rb.ping_all();
    for (Readers* r : {&ra, &rb}) {
      const std::size_t leave = std::max<std::size_t>(1, r->active() / 100);
      std::size_t left = 0;
      for (std::size_t tries = 0; left < leave && tries < 100 * leave; ++tries) {
        const std::size_t i = std::uniform_int_distribution<std::size_t>(0, r->size() - 1)(rng);
        if (r->active(i)) {
          r->close(i);
          ++left;
        }
      }
      churned += left;
      r->open(left);  // as many join as left
    }
    if (sa.unexpected_ends() > silent_seen_a) {
      sa.open(sa.unexpected_ends() - silent_seen_a);
      silent_seen_a = sa.unexpected_ends();
    }
    if (sb.unexpected_ends() > silent_seen_b) {
      sb.open(sb.unexpected_ends() - silent_seen_b);
      silent_seen_b = sb.unexpected_ends();
    }
    if (Clock::now() >= next_sample) {
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      const auto [delivered, p50, p99] = window.take();
      const double per_s = static_cast<double>(delivered) / static_cast<double>(sample.count());
      const double mib = 1024.0 * 1024.0;
      const double ra_mib = static_cast<double>(a.RssBytes()) / mib;
      const double rb_mib = static_cast<double>(b.RssBytes()) / mib;
      const double redis_mib = static_cast<double>(redis_used_memory(redis)) / mib;
      const std::size_t fa = a.OpenFdCount(), fb = b.OpenFdCount();
      csv << seconds << ',' << ra_mib << ',' << rb_mib << ',' << fa << ',' << fb << ',' << redis_mib
          << ',' << per_s << ',' << p50 << ',' << p99 << ',' << ra.lost() + rb.lost() << ','
          << ra.duplicates() + rb.duplicates() << ',' << publishers.failed() << ','
          << ra.active() + rb.active() << ',' << slow_consumer_closes() - closes_before << ','
          << silent_seen_a + silent_seen_b << ',' << churned << std::endl;
      if (seconds >= warmup_minutes * 60) {
        xs.push_back(seconds), rss_a.push_back(ra_mib), rss_b.push_back(rb_mib);
        fds_a.push_back(static_cast<double>(fa)), fds_b.push_back(static_cast<double>(fb));
        redis_mem.push_back(redis_mib), p99s.push_back(p99);
      }
      std::fprintf(stderr,
                   "soak %5.0f s: rss %.1f/%.1f MiB, fds %zu/%zu, redis %.2f MiB, %.0f/s, p50 "
                   "%.0f ms, p99 %.0f ms, lost %llu, dup %llu\n",
                   seconds, ra_mib, rb_mib, fa, fb, redis_mib, per_s, p50, p99,
                   static_cast<unsigned long long>(ra.lost() + rb.lost()),
                   static_cast<unsigned long long>(ra.duplicates() + rb.duplicates()));
      next_sample += sample;
    }
    std::this_thread::sleep_for(1s);
  }
  publishers.stop();
  std::this_thread::sleep_for(2s);

  // The verdict.
  bool pass = true;
  auto check = [&](bool ok, const std::string& what) {
    std::cerr << (ok ? "  ok    " : "  FAIL  ") << what << "\n";
    pass = pass && ok;
  };
  std::cerr << "soak verdict after " << minutes << " min (" << publishers.published()
            << " events published):\n";
  check(ra.lost() + rb.lost() == 0, "lost events: " + std::to_string(ra.lost() + rb.lost()));
  check(ra.duplicates() + rb.duplicates() == 0,
        "duplicate events: " + std::to_string(ra.duplicates() + rb.duplicates()));
  check(publishers.failed() == 0, "failed publishes: " + std::to_string(publishers.failed()));
  check(ra.unexpected_ends() + rb.unexpected_ends() == 0,
        "readers dropped by the server: " +
            std::to_string(ra.unexpected_ends() + rb.unexpected_ends()) +
            (ra.failures().empty() ? "" : " (" + ra.failures().front() + ")"));
  // The churn the soak claims happened: slow readers closed (4008) and back, silent ones
  // closed by the heartbeat.
  const auto slow_closed = static_cast<std::uint64_t>(slow_consumer_closes() - closes_before);
  check(slow_closed > 0,
        "slow readers closed by the servers (4008): " + std::to_string(slow_closed) + " (" +
            std::to_string(slow.slow_closes()) + " close frames read, " +
            std::to_string(slow.ends()) + " reconnects)");
  std::cerr << "  info  readers churned: " << churned << "\n";
  check(silent_seen_a + silent_seen_b > 0,
        "silent readers closed by the heartbeat: " + std::to_string(silent_seen_a + silent_seen_b));
  check(publishers.behind() == 0,
        "publisher fell behind its pace: " + std::to_string(publishers.behind()) + " times");
  if (xs.size() >= 6) {
    const double span = xs.back() - xs.front();
    // A trend is the fitted growth over the measured span, against a floor for noise.
    auto flat = [&](const std::vector<double>& y, double floor, const std::string& what,
                    const char* unit) {
      double mean = 0;
      for (double v : y) mean += v;
      mean /= static_cast<double>(y.size());
      const double growth = slope(xs, y) * span;
      const double allowed = std::max(floor, 0.05 * mean);
      char text[200];
      std::snprintf(text, sizeof text,
                    "%s: trend %+.2f %s over %.0f s after warm-up (allowed %.2f)", what.c_str(),
                    growth, unit, span, allowed);
      check(growth < allowed, text);
    };
    flat(rss_a, 4, "RSS node a", "MiB");
    flat(rss_b, 4, "RSS node b", "MiB");
    flat(fds_a, 20, "descriptors node a", "");
    flat(fds_b, 20, "descriptors node b", "");
    flat(redis_mem, 1, "Redis used memory", "MiB");
    const std::size_t third = p99s.size() / 3;
    std::vector<double> first(p99s.begin(), p99s.begin() + third),
        last(p99s.end() - third, p99s.end());
    std::sort(first.begin(), first.end());
    std::sort(last.begin(), last.end());
    const double p99_first = first[first.size() / 2], p99_last = last[last.size() / 2];
    char text[160];
    std::snprintf(text, sizeof text,
                  "p99 steady: median p99 %.0f ms in the first third, %.0f ms in the last",
                  p99_first, p99_last);
    check(p99_last <= 2 * p99_first + 5, text);
  } else {
    check(false, "too few samples after the warm-up to judge trends");
  }
  std::cerr << (pass ? "soak: PASS\n" : "soak: FAIL\n");
  return pass ? 0 : 1;
}
