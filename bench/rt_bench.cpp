// rt-bench: load generator for nself-realtime and, side by side, for other servers speaking the
// same protocol subset (the uWebSockets reference in ../shared/peers). See docs/performance.md.
//
// Scenarios (each prints one JSON line per target, and a Markdown table at the end):
//   fanout   N subscribers on one topic; batched POST /realtime/publish as fast as the server
//            delivers (bounded lag), then a latency phase at a fixed fraction of that rate.
//   chat     C connections over T topics (C/T per topic); batches to random topics.
//   connect  token fetch (when the target mints tokens) + upgrade + subscribe (+ the presence
//            joins it causes) for N clients, K per topic; then every client closes (close frame,
//            FIN) and the server's open fds are polled back to their baseline: server CPU per
//            connection for the connect, the disconnect and both.
//   storm    reconnect storm: N clients in channels of 10 to 5,000 members, all reset at once,
//            all reconnecting (token + subscribe + presence status): time until all are back,
//            server CPU per reconnect, presence frames received per channel size.
//   idle     server RSS before/after N idle subscribed connections -> KiB per connection.
//   subscribe  C connected clients each cycle subscribe/unsubscribe over their own K topics as
//            fast as the replies come -> subscribes/s and server CPU per subscribe (compare a
//            server whose rules ask a membership check, cached after the first round).
//
// Everything runs against loopback targets only; every loop is bounded in count and time, and a
// watchdog ends the process after --max-seconds whatever happens.

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "stats.hpp"
#include "ws_frame.hpp"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace rtbench;

namespace {

// ---------------------------------------------------------------------------------------------
// Time and small helpers

const Clock::time_point g_epoch = Clock::now();

// Nanoseconds since the process started; the publish timestamp carried in every event.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - g_epoch).count();
}

inline double seconds_since(std::int64_t ns) { return double(now_ns() - ns) / 1e9; }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

inline void bump(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) {
  // Single writer (the owning worker thread): a plain store is enough and cheaper than a locked add.
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string human(double v) {
  char buf[32];
  if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e4) std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The 1-minute load average: benchmark numbers on a busy machine are not comparable.
double load_average() {
  std::ifstream in("/proc/loadavg");
  double l = -1;
  in >> l;
  return l;
}

// CPU seconds (user + system) a process has used so far; -1 when unknown.
double process_cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atof(f.c_str());
    if (i == 15) stime = std::atof(f.c_str());
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Open file descriptors of a process (sockets included); -1 when unreadable. The connect
// scenario's teardown waits for a server's count to come back to its baseline: a server-agnostic
// "every connection is gone".
int count_fds(int pid) {
  if (pid <= 0) return -1;
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

long read_rss_kib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Options

struct Target {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  tcp::endpoint endpoint;
  bool tokens = false;  // mints connection tokens (POST /realtime/token): probed at start
  bool socketio = false;  // clients speak Socket.IO (Engine.IO 4 over WebSocket), not v1
  bool deflate = false;   // clients offer permessage-deflate (and must get it)
  bool chat_payload = false;  // events carry a chat message object instead of the padding
  int pid = 0;          // for RSS; 0 = unknown
  std::vector<int> redis_pids;  // the redis-servers it uses (one per master): their CPU too
  std::optional<tcp::endpoint> redis_publish;  // publish by Redis PUBLISH there instead of HTTP
};

struct Options {
  std::vector<Target> targets;
  std::map<std::string, int> pids;
  std::map<std::string, std::vector<int>> redis_pids;
  std::map<std::string, std::string> describe;  // free text per target (version, commit)
  std::map<std::string, std::string> redis_publish;  // target -> redis://127.0.0.1:PORT
  std::string redis_prefix = "realtime:";
  std::set<std::string> socketio;  // targets whose clients speak Socket.IO
  std::set<std::string> deflate;   // targets whose clients offer permessage-deflate
  std::set<std::string> chat_payload;  // targets whose events carry chat_message_json
  std::vector<std::string> scenarios = {"fanout", "chat", "connect", "idle"};
  int subscribe_clients = 200;
  int subscribe_topics = 20;
  std::vector<std::pair<std::string, std::string>> ratios;
  std::string api_key;
  std::string out_file;
  std::string run_id;
  std::string table_file;  // --table: only print the table of a JSONL file
  int threads = 1;
  int rounds = 1;
  double duration = 8;
  double warmup = 1;
  int subscribers = 1000;
  int chat_connections = 10000;
  int chat_topics = 1000;
  int connect_clients = 5000;
  int connect_concurrency = 100;
  int idle_connections = 15000;
  int idle_topics = 1000;  // the idle connections' topics, spread evenly
  std::vector<int> connect_per_topic = {1, 50};  // connect: clients per topic, one run each
  double teardown_max_s = 30;                    // connect: bounded wait for the server's fds
  // storm: (channels, members) pairs; 1x5000 + 4x1000 + 10x300 + 20x100 + 100x10 = 15,000
  std::vector<std::pair<int, int>> storm_channels = {
      {1, 5000}, {4, 1000}, {10, 300}, {20, 100}, {100, 10}};
  int storm_concurrency = 250;
  int setup_concurrency = 256;
  int batch = 100;
  int latency_batch = 0;  // 0: fanout 10, chat the same as batch
  double latency_fraction = 0.5;
  double latency_rate = 0;  // deliveries/s; 0 = fraction x the slowest target's max
  std::string latency_base;  // target whose max rate sets the latency phase rate (else the slowest)
  int sample_every = 10;
  int payload_bytes = 64;
  int pipes = 4;
  int depth = 8;
  int lag = 200;  // max outstanding messages per subscriber in the max-rate phase
  int source_ips = 16;
  int poll_us = 200;
  int rcvbuf = 0;  // SO_RCVBUF of subscriber sockets; 0 = the kernel's autotuning  // client loop: poll, then sleep this long when idle (0: block in epoll)
  bool no_token = false;
  bool latency_only = false;  // with --latency-rate: no max-rate phase (rate sweeps for the plot)
  bool quiet_table = false;
  double max_seconds = 900;
};

[[noreturn]] void usage(const std::string& error = {}) {
  if (!error.empty()) std::cerr << "rt-bench: " << error << "\n\n";
  std::cerr << R"(Usage: rt-bench --target NAME=ws://127.0.0.1:PORT [--target ...] [options]
       rt-bench --table results.jsonl [--run-id ID] [--ratio A/B ...]

Targets (loopback only), run alternately on the same scenarios:
  --target NAME=ws://127.0.0.1:PORT  repeatable; the first one is "ours" for default ratios
  --pid NAME=PID                     server pid of a target: its CPU in every scenario, its
                                     VmRSS (idle) and open fds (connect's teardown)
  --redis-pids NAME=PID[,PID...]     the redis-server(s) behind a target (one per master): their
                                     CPU in the measured window is reported apart
  --describe NAME=TEXT               what the target is (version, commit), kept in the JSON
  --ratio A/B                        ratio rows to print (default: first target / each other)
  --api-key KEY                      sent as Authorization: Bearer on publish and token calls
  --no-token                         connect scenario: plain upgrade even where tokens exist
  --redis-publish NAME=redis://127.0.0.1:PORT
                                     fanout/chat: publish to this target by pipelined Redis
                                     PUBLISH <prefix>topic:<topic> '{"topic","event","data"}'
                                     (a batch = that many PUBLISHes in one write) instead of HTTP
  --redis-prefix P                   channel prefix for --redis-publish [realtime:]
  --socketio NAME                    this target's clients speak Socket.IO: /socket.io/?EIO=4&
                                     transport=websocket, CONNECT, 42["subscribe",{"topic"}],
                                     pongs to the server's pings; events are found by their
                                     data ({"t":...}) whatever the event's shape
  --deflate NAME                     this target's clients offer permessage-deflate: RSV1 frames
                                     count as deliveries unread, only latency samples are inflated
  --chat-payload NAME                fanout/chat: this target's events carry a 486-byte chat
                                     message object ("message") instead of --payload-bytes padding

Scenarios:
  --scenario LIST        fanout,chat,connect,idle,subscribe,storm [fanout,chat,connect,idle]
  --rounds N             repeat each target's run N times, alternating order [1]
  --duration S           measured seconds per phase [8]        --warmup S  [1]
  --subscribers N        fanout subscribers [1000]
  --chat-connections N   [10000]   --chat-topics N [1000]
  --connect-clients N    [5000]    --connect-concurrency N [100]
  --connect-per-topic L  connect: comma list of clients per topic, a run each [1,50]
                         (records connect, connect-50, ...; connect-plain[-K] without token)
  --teardown-max S       connect: longest wait for the server's fds after the close [30]
  --idle-connections N   [15000]   --idle-topics N [1000]
  --storm-channels L     storm: COUNTxMEMBERS list [1x5000,4x1000,10x300,20x100,100x10]
  --storm-concurrency N  storm: reconnects in flight [250]
  --subscribe-clients N  [200]     --subscribe-topics K (per client) [20]
  --batch N              messages per publish in the max-rate phase [100]
  --latency-batch N      messages per publish in the latency phase [fanout 10, chat = --batch]
  --latency-fraction F   latency phase rate = F x the slowest target's max rate [0.5]
  --latency-base NAME    ... x this target's max rate instead (e.g. the reference server)
  --latency-rate R       latency phase rate in deliveries/s (overrides the fraction)
  --latency-only         with --latency-rate: skip the max-rate phase (sweeps: scripts/bench-plot)
  --sample-every N       latency sample on every Nth event per subscriber [10]
  --payload-bytes N      padding in each event's data [64]
  --pipes N --depth N    publisher keep-alive HTTP connections and pipelined requests each [4, 8]
  --lag N                max outstanding messages per subscriber while publishing at max [200]
  --threads N            client threads (1 or 2 on this machine) [1]
  --source-ips N         spread client sockets over 127.0.0.2..N+1 (0 = no bind) [16]
  --rcvbuf BYTES          SO_RCVBUF of client WebSocket sockets (0 = kernel autotuning) [0]
  --poll-us N            client threads poll their sockets and sleep N us when idle, instead of
                         blocking in epoll_wait (0): see "load generator" in docs/performance.md [200]

Output:
  --out FILE             append the JSON lines there too
  --run-id ID            tag of this run in the JSON lines [UTC time]
  --quiet-table          no Markdown table at the end (use --table later)
  --max-seconds S        watchdog: exit 3 after S seconds whatever happens [900]
)";
  std::exit(2);
}

std::pair<std::string, std::string> split_eq(const std::string& s, const char* flag) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) usage(std::string(flag) + " wants NAME=VALUE, got " + s);
  return {s.substr(0, eq), s.substr(eq + 1)};
}

Target parse_target(const std::string& spec) {
  auto [name, url] = split_eq(spec, "--target");
  Target t;
  t.name = name;
  std::string rest = url;
  if (rest.rfind("ws://", 0) == 0) rest = rest.substr(5);
  else if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  auto slash = rest.find('/');
  if (slash != std::string::npos) rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) usage("target " + spec + " has no port");
  t.host = rest.substr(0, colon);
  if (t.host == "localhost") t.host = "127.0.0.1";
  int port = std::atoi(rest.c_str() + colon + 1);
  if (port <= 0 || port > 65535) usage("bad port in " + spec);
  t.port = static_cast<std::uint16_t>(port);
  boost::system::error_code ec;
  auto addr = net::ip::make_address(t.host, ec);
  if (ec || !addr.is_v4() || !addr.is_loopback()) usage("targets must be 127.x.x.x addresses: " + spec);
  t.endpoint = tcp::endpoint(addr, t.port);
  return t;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool scenarios_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto next_int = [&](int lo, int hi) {
      std::string v = next();
      char* end = nullptr;
      long x = std::strtol(v.c_str(), &end, 10);
      if (*end != 0 || x < lo || x > hi) usage(a + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return static_cast<int>(x);
    };
    auto next_double = [&](double lo, double hi) {
      std::string v = next();
      char* end = nullptr;
      double x = std::strtod(v.c_str(), &end);
      if (*end != 0 || x < lo || x > hi) usage(a + " out of range");
      return x;
    };
    if (a == "--help" || a == "-h") usage();
    else if (a == "--target") o.targets.push_back(parse_target(next()));
    else if (a == "--pid") { auto [n, v] = split_eq(next(), "--pid"); o.pids[n] = std::atoi(v.c_str()); }
    else if (a == "--redis-pids") {
      auto [n, v] = split_eq(next(), "--redis-pids");
      std::stringstream ss(v);
      std::string pid;
      while (std::getline(ss, pid, ',')) o.redis_pids[n].push_back(std::atoi(pid.c_str()));
    }
    else if (a == "--describe") { auto [n, v] = split_eq(next(), "--describe"); o.describe[n] = v; }
    else if (a == "--redis-publish") { auto [n, v] = split_eq(next(), "--redis-publish"); o.redis_publish[n] = v; }
    else if (a == "--redis-prefix") o.redis_prefix = next();
    else if (a == "--socketio") o.socketio.insert(next());
    else if (a == "--deflate") o.deflate.insert(next());
    else if (a == "--chat-payload") o.chat_payload.insert(next());
    else if (a == "--ratio") {
      std::string v = next();
      auto slash = v.find('/');
      if (slash == std::string::npos) usage("--ratio wants A/B");
      o.ratios.emplace_back(v.substr(0, slash), v.substr(slash + 1));
    }
    else if (a == "--scenario") {
      if (!scenarios_set) o.scenarios.clear();
      scenarios_set = true;
      std::stringstream ss(next());
      std::string s;
      while (std::getline(ss, s, ',')) {
        if (s != "fanout" && s != "chat" && s != "connect" && s != "idle" && s != "subscribe" &&
            s != "storm")
          usage("unknown scenario " + s);
        o.scenarios.push_back(s);
      }
    }
    else if (a == "--api-key") o.api_key = next();
    else if (a == "--out") o.out_file = next();
    else if (a == "--run-id") o.run_id = next();
    else if (a == "--table") o.table_file = next();
    else if (a == "--threads") o.threads = next_int(1, 8);
    else if (a == "--rounds") o.rounds = next_int(1, 10);
    else if (a == "--duration") o.duration = next_double(0.5, 120);
    else if (a == "--warmup") o.warmup = next_double(0, 30);
    else if (a == "--subscribers") o.subscribers = next_int(1, 18000);
    else if (a == "--chat-connections") o.chat_connections = next_int(1, 18000);
    else if (a == "--chat-topics") o.chat_topics = next_int(1, 18000);
    else if (a == "--connect-clients") o.connect_clients = next_int(1, 18000);
    else if (a == "--connect-concurrency") o.connect_concurrency = next_int(1, 2000);
    else if (a == "--idle-connections") o.idle_connections = next_int(1, 18000);
    else if (a == "--idle-topics") o.idle_topics = next_int(1, 18000);
    else if (a == "--connect-per-topic") {
      o.connect_per_topic.clear();
      std::stringstream ss(next());
      std::string k;
      while (std::getline(ss, k, ',')) {
        const int v = std::atoi(k.c_str());
        if (v < 1 || v > 18000) usage("--connect-per-topic wants integers in [1, 18000], got " + k);
        o.connect_per_topic.push_back(v);
      }
      if (o.connect_per_topic.empty()) usage("--connect-per-topic is empty");
    } else if (a == "--teardown-max")
      o.teardown_max_s = next_double(1, 600);
    else if (a == "--storm-channels") {
      o.storm_channels.clear();
      std::stringstream ss(next());
      std::string k;
      while (std::getline(ss, k, ',')) {
        const auto x = k.find('x');
        const int count = x == std::string::npos ? 0 : std::atoi(k.substr(0, x).c_str());
        const int members = x == std::string::npos ? 0 : std::atoi(k.substr(x + 1).c_str());
        if (count < 1 || members < 1 || count * members > 18000)
          usage("--storm-channels wants COUNTxMEMBERS items, got " + k);
        o.storm_channels.emplace_back(count, members);
      }
      if (o.storm_channels.empty() || o.storm_channels.size() > 16)
        usage("--storm-channels wants 1 to 16 items");
    } else if (a == "--storm-concurrency")
      o.storm_concurrency = next_int(1, 2000);
    else if (a == "--subscribe-clients") o.subscribe_clients = next_int(1, 18000);
    else if (a == "--subscribe-topics") o.subscribe_topics = next_int(2, 1000);
    else if (a == "--batch") o.batch = next_int(1, 1000);
    else if (a == "--latency-batch") o.latency_batch = next_int(1, 1000);
    else if (a == "--latency-fraction") o.latency_fraction = next_double(0.01, 1);
    else if (a == "--latency-rate") o.latency_rate = next_double(1, 1e9);
    else if (a == "--latency-base") o.latency_base = next();
    else if (a == "--sample-every") o.sample_every = next_int(1, 1000000);
    else if (a == "--payload-bytes") o.payload_bytes = next_int(0, 30000);
    else if (a == "--pipes") o.pipes = next_int(1, 64);
    else if (a == "--depth") o.depth = next_int(1, 256);
    else if (a == "--lag") o.lag = next_int(1, 100000);
    else if (a == "--source-ips") o.source_ips = next_int(0, 250);
    else if (a == "--poll-us") o.poll_us = next_int(0, 100000);
    else if (a == "--rcvbuf") o.rcvbuf = next_int(0, 64 << 20);
    else if (a == "--no-token") o.no_token = true;
    else if (a == "--latency-only") o.latency_only = true;
    else if (a == "--quiet-table") o.quiet_table = true;
    else if (a == "--max-seconds") o.max_seconds = next_double(1, 7200);
    else usage("unknown option " + a);
  }
  if (o.table_file.empty() && o.targets.empty()) usage("at least one --target is required");
  if (o.latency_only && o.latency_rate <= 0) usage("--latency-only needs --latency-rate");
  std::set<std::string> names;
  for (auto& t : o.targets) {
    if (!names.insert(t.name).second) usage("duplicate target name " + t.name);
    if (auto it = o.pids.find(t.name); it != o.pids.end()) t.pid = it->second;
    if (auto it = o.redis_pids.find(t.name); it != o.redis_pids.end()) t.redis_pids = it->second;
    t.socketio = o.socketio.count(t.name) > 0;
    t.deflate = o.deflate.count(t.name) > 0;
    t.chat_payload = o.chat_payload.count(t.name) > 0;
    if (auto it = o.redis_publish.find(t.name); it != o.redis_publish.end()) {
      std::string url = it->second;
      if (url.rfind("redis://", 0) != 0) usage("--redis-publish wants redis://127.0.0.1:PORT, got " + url);
      t.redis_publish = parse_target(t.name + "=ws://" + url.substr(8)).endpoint;
    }
  }
  for (auto& [n, url] : o.redis_publish)
    if (!names.count(n)) usage("--redis-publish names no target: " + n);
  if (o.run_id.empty()) o.run_id = utc_now();
  return o;
}

// ---------------------------------------------------------------------------------------------
// Workers: one io_context and thread each; every socket lives on exactly one worker.

struct alignas(64) Counters {
  std::atomic<std::uint64_t> frames{0};      // every frame received after the upgrade
  std::atomic<std::uint64_t> wire_bytes{0};  // every byte received (handshakes included)
  std::atomic<std::uint64_t> events{0};      // bench events (carry "data":{"t":...})
  std::atomic<std::uint64_t> ready{0};       // clients upgraded and subscribed
  std::atomic<std::uint64_t> failed{0};      // clients that never got ready
  std::atomic<std::uint64_t> closed{0};      // ready clients the server closed
  std::atomic<std::uint64_t> slow_closed{0}; // ... of which with 4008 (slow consumer)
  std::atomic<std::uint64_t> subscribes{0};  // subscribe scenario: `subscribed` replies
  std::atomic<std::uint64_t> gone{0};        // clients whose close handshake ended (EOF after ours)
  std::atomic<std::int64_t> last_done_ns{0};
};

class WsClient;
class HttpPipe;
struct Bench;

struct ClientPlan {
  std::string user;
  std::string topic;
  bool token = false;
  std::size_t buffer = 16 * 1024;
  int churn_topics = 0;  // subscribe scenario: cycle over topic-0 .. topic-(N-1)
  int bucket = -1;       // storm: channel-size bucket whose presence frames this client counts
  bool presence_status = false;  // storm: after `subscribed`, set the status and wait for the ack
};

constexpr std::size_t max_buckets = 16;

struct Worker {
  explicit Worker(Bench& b, int i) : bench(b), index(i), guard(net::make_work_guard(io)), ping_timer(io) {}
  Bench& bench;
  int index;
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> guard;
  std::thread thread;
  Counters c;
  // Worker-thread-only state below.
  std::vector<std::int64_t> samples;
  // permessage-deflate targets: the latency samples are inflated (no context takeover: one
  // message at a time), the other compressed events are counted unread.
  std::unique_ptr<z_stream, void (*)(z_stream*)> inflater{nullptr, [](z_stream* s) {
                                                           inflateEnd(s);
                                                           delete s;
                                                         }};
  std::string inflated;
  std::uint32_t sample_counter = 0;
  std::size_t sample_cap = 4'000'000;
  std::vector<std::shared_ptr<WsClient>> clients;
  std::vector<std::shared_ptr<HttpPipe>> token_pipes;
  std::size_t next_token_pipe = 0;
  net::steady_timer ping_timer;
  std::vector<std::string> failure_notes;
  // Storm: presence events received per channel-size bucket (single writer: this thread).
  std::array<std::atomic<std::uint64_t>, max_buckets> presence_changed{}, presence_diff{};
  std::vector<std::size_t> failed_indexes;  // launch indexes of clients that never got ready
  // Connection launcher.
  const Target* launch_target = nullptr;
  std::function<ClientPlan(std::size_t)> plan_for;
  std::size_t launch_next = 0, launch_end = 0, launch_stride = 1;
  int inflight = 0, max_inflight = 0;
  bool record_setup = false;

  void note_failure(const std::string& what) {
    if (failure_notes.size() < 5) failure_notes.push_back(what);
  }
  void launch_more();
  void on_client_done(std::int64_t setup_ns, bool ok, std::size_t index);
  void schedule_pings();
  std::shared_ptr<HttpPipe> token_pipe();
};

struct Bench {
  Options opt;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<bool> recording{false};
  std::atomic<bool> churning{false};  // subscribe scenario: clients keep cycling while set
  std::atomic<std::uint64_t> source_counter{0};
  std::vector<json::object> records;

  tcp::endpoint source_for(std::uint64_t i) const {
    // 127.0.0.2, .3, ...: each source address has its own ephemeral port range.
    auto a = net::ip::make_address_v4("127.0.0.2").to_uint() + static_cast<std::uint32_t>(i % opt.source_ips);
    return tcp::endpoint(net::ip::address_v4(a), 0);
  }
  std::uint64_t sum(std::atomic<std::uint64_t> Counters::*m) const {
    std::uint64_t s = 0;
    for (auto& w : workers) s += (w->c.*m).load(std::memory_order_relaxed);
    return s;
  }
  std::uint64_t presence_sum(std::array<std::atomic<std::uint64_t>, max_buckets> Worker::*m,
                             std::size_t bucket) const {
    std::uint64_t s = 0;
    for (auto& w : workers) s += ((*w).*m)[bucket].load(std::memory_order_relaxed);
    return s;
  }
};

template <class F>
void run_sync(Worker& w, F&& f) {
  std::promise<void> done;
  auto fut = done.get_future();
  net::post(w.io, [&] {
    f();
    done.set_value();
  });
  fut.wait();
}

template <class F>
void run_all(Bench& b, F&& f) {
  for (auto& w : b.workers) run_sync(*w, [&] { f(*w); });
}

bool open_socket(Bench& b, tcp::socket& s, beast::error_code& ec) {
  s.open(tcp::v4(), ec);
  if (ec) return false;
  if (b.opt.source_ips > 0) {
    int one = 1;
    // Defer port choice to connect(): the 4-tuple, not the port alone, must be unique.
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    s.bind(b.source_for(b.source_counter.fetch_add(1, std::memory_order_relaxed)), ec);
    if (ec) return false;
  }
  return true;
}

void abort_socket(tcp::socket& s) {
  beast::error_code ec;
  if (!s.is_open()) return;
  // RST instead of FIN: no TIME_WAIT piles up between scenarios.
  s.set_option(net::socket_base::linger(true, 0), ec);
  s.close(ec);
}

// ---------------------------------------------------------------------------------------------
// HttpPipe: one keep-alive HTTP/1.1 connection with pipelined requests (raw bytes in, Beast
// parses the responses in order).

// What the publisher sends its batches over: HTTP (HttpPipe) or Redis (RedisPipe).
class PublishPipe {
 public:
  using Done = std::function<void(int status, std::string_view body)>;  // status 0: no answer
  virtual ~PublishPipe() = default;
  virtual void start() = 0;
  // `bytes` holds one batch; it is answered by `replies` responses, then `done` runs once.
  virtual void send_batch(std::string_view bytes, int replies, Done done) = 0;
  virtual std::size_t in_flight() const = 0;
  virtual bool dead() const = 0;
  virtual void close() = 0;
};

class HttpPipe : public PublishPipe, public std::enable_shared_from_this<HttpPipe> {
 public:
  HttpPipe(Bench& b, net::io_context& io, tcp::endpoint dst) : bench_(b), sock_(io), dst_(dst) {}

  void send_batch(std::string_view bytes, int, Done done) override { request(bytes, std::move(done)); }

  void start() override {
    beast::error_code ec;
    if (!open_socket(bench_, sock_, ec)) return fail();
    sock_.async_connect(dst_, [self = shared_from_this()](beast::error_code ec) {
      if (self->dead_) return;
      if (ec) return self->fail();
      self->sock_.set_option(tcp::no_delay(true), ec);
      self->connected_ = true;
      self->flush();
      if (!self->pending_.empty() && !self->reading_) self->read();
    });
  }

  void request(std::string_view bytes, Done done) {
    if (dead_) return done(0, {});
    out_.append(bytes);
    pending_.push_back(std::move(done));
    flush();
    if (connected_ && !reading_) read();
  }

  std::size_t in_flight() const override { return pending_.size(); }
  bool dead() const override { return dead_; }
  void close() override {
    dead_ = true;
    abort_socket(sock_);
  }

 private:
  void flush() {
    if (!connected_ || writing_ || out_.empty() || dead_) return;
    writing_ = true;
    wbuf_.swap(out_);
    out_.clear();
    net::async_write(sock_, net::buffer(wbuf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->fail();
      self->flush();
    });
  }

  void read() {
    reading_ = true;
    parser_.emplace();
    parser_->body_limit(1 << 20);
    http::async_read(sock_, rbuf_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->dead_) return;
      if (ec) return self->fail();
      auto& res = self->parser_->get();
      Done done = std::move(self->pending_.front());
      self->pending_.pop_front();
      done(res.result_int(), res.body());
      if (self->dead_) return;
      if (!self->pending_.empty()) self->read();
      else self->reading_ = false;
    });
  }

  void fail() {
    if (dead_ && pending_.empty()) return;
    dead_ = true;
    abort_socket(sock_);
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& d : pending) d(0, {});
  }

  Bench& bench_;
  tcp::socket sock_;
  tcp::endpoint dst_;
  beast::flat_buffer rbuf_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::deque<Done> pending_;
  std::string out_, wbuf_;
  bool connected_ = false, writing_ = false, reading_ = false, dead_ = false;
};

// RedisPipe: one Redis connection with pipelined PUBLISHes. Only the replies PUBLISH can get are
// understood (":n" integers, "-ERR" errors); anything else ends the connection.
class RedisPipe : public PublishPipe, public std::enable_shared_from_this<RedisPipe> {
 public:
  RedisPipe(Bench& b, net::io_context& io, tcp::endpoint dst) : bench_(b), sock_(io), dst_(dst) {}

  void start() override {
    beast::error_code ec;
    if (!open_socket(bench_, sock_, ec)) return fail("socket");
    sock_.async_connect(dst_, [self = shared_from_this()](beast::error_code ec) {
      if (self->dead_) return;
      if (ec) return self->fail("connect: " + ec.message());
      self->sock_.set_option(tcp::no_delay(true), ec);
      self->connected_ = true;
      self->flush();
      self->read();
    });
  }

  void send_batch(std::string_view bytes, int replies, Done done) override {
    if (dead_) return done(0, {});
    out_.append(bytes);
    pending_.push_back({replies, 0, std::move(done), {}});
    flush();
  }

  std::size_t in_flight() const override { return pending_.size(); }
  bool dead() const override { return dead_; }
  void close() override {
    dead_ = true;
    abort_socket(sock_);
  }

  // Appends PUBLISH channel message as a RESP array.
  static void append_publish(std::string& out, std::string_view channel, std::string_view message) {
    auto bulk = [&](std::string_view s) {
      out += '$';
      out += std::to_string(s.size());
      out += "\r\n";
      out += s;
      out += "\r\n";
    };
    out += "*3\r\n";
    bulk("PUBLISH");
    bulk(channel);
    bulk(message);
  }

 private:
  struct Batch {
    int replies_left;
    std::int64_t receivers;  // sum of PUBLISH's integer replies: servers that got the messages
    Done done;
    std::string error;
  };

  void flush() {
    if (!connected_ || writing_ || out_.empty() || dead_) return;
    writing_ = true;
    wbuf_.swap(out_);
    out_.clear();
    net::async_write(sock_, net::buffer(wbuf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->fail("write: " + ec.message());
      self->flush();
    });
  }

  void read() {
    sock_.async_read_some(net::buffer(rbuf_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (self->dead_) return;
      if (ec) return self->fail("read: " + ec.message());
      self->in_.append(self->rbuf_.data(), n);
      if (!self->parse()) return;
      self->read();
    });
  }

  // Consumes every complete reply line; false when the connection was failed.
  bool parse() {
    std::size_t pos = 0;
    for (;;) {
      const auto eol = in_.find("\r\n", pos);
      if (eol == std::string::npos) break;
      std::string_view line(in_.data() + pos, eol - pos);
      pos = eol + 2;
      if (pending_.empty() || line.empty() || (line[0] != ':' && line[0] != '-')) {
        fail("unexpected reply from Redis: " + std::string(line.substr(0, 100)));
        return false;
      }
      Batch& b = pending_.front();
      if (line[0] == ':') b.receivers += std::atoll(std::string(line.substr(1)).c_str());
      else if (b.error.empty()) b.error = std::string(line.substr(1));
      if (--b.replies_left == 0) {
        Batch done = std::move(b);
        pending_.pop_front();
        if (!done.error.empty()) done.done(500, done.error);
        else if (done.receivers == 0) done.done(404, "PUBLISH reached no subscriber (is the server subscribed?)");
        else done.done(200, {});
        if (dead_) return false;
      }
    }
    in_.erase(0, pos);
    return true;
  }

  void fail(const std::string& why) {
    if (dead_ && pending_.empty()) return;
    if (!dead_ && !why.empty()) std::cerr << "  redis publish: " << why << "\n";
    dead_ = true;
    abort_socket(sock_);
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& b : pending) b.done(0, {});
  }

  Bench& bench_;
  tcp::socket sock_;
  tcp::endpoint dst_;
  std::array<char, 16384> rbuf_{};
  std::string in_, out_, wbuf_;
  std::deque<Batch> pending_;
  bool connected_ = false, writing_ = false, dead_ = false;
};

std::string http_post(const Target& t, std::string_view path, std::string_view body, const std::string& api_key) {
  std::string r;
  r.reserve(160 + body.size());
  r += "POST ";
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += t.host + ":" + std::to_string(t.port);
  r += "\r\nContent-Type: application/json\r\n";
  if (!api_key.empty()) r += "Authorization: Bearer " + api_key + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

std::string json_field(std::string_view body, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":\"";
  auto p = body.find(needle);
  if (p == std::string_view::npos) return {};
  p += needle.size();
  auto e = body.find('"', p);
  if (e == std::string_view::npos) return {};
  return std::string(body.substr(p, e - p));
}

// ---------------------------------------------------------------------------------------------
// WsClient: [token] -> TCP connect -> upgrade -> subscribe -> ready; then counts events and
// samples their latency from the timestamp in the data.

constexpr std::string_view event_marker = "\"data\":{\"t\":";
// Socket.IO events carry the data as an argument, not under "data" (ours: 42["e",{"t":...},...]).
constexpr std::string_view sio_event_marker = "{\"t\":";

class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  WsClient(Worker& w, const Target& t, ClientPlan plan, std::uint64_t index)
      : w_(w), t_(t), plan_(std::move(plan)), index_(index), sock_(w.io) {}

  void start() {
    started_ns_ = now_ns();
    if (t_.socketio) return connect("/socket.io/?EIO=4&transport=websocket&user=" + plan_.user);
    if (plan_.token) return fetch_token();
    connect("/realtime/connect?user=" + plan_.user);
  }

  void abort() {
    state_ = State::dead;
    abort_socket(sock_);
  }

  // A normal close from the client, as a browser tab closing: a close frame (1000), then FIN;
  // what the server still sends is read and dropped until its FIN. A client that is not ready
  // has nothing to close gracefully and is reset.
  void close_gracefully() {
    if (state_ == State::dead || state_ == State::closing) return;
    if (state_ != State::ready) return abort();
    state_ = State::closing;
    static constexpr char normal[] = {0x03, static_cast<char>(0xE8)};
    append_masked_frame(out_, op_close, std::string_view(normal, 2),
                        static_cast<std::uint32_t>(index_ * 2654435761u));
    shutdown_after_write_ = true;
    flush();
  }

  // Subscribe scenario: leave the current topic and subscribe the next, again on every reply.
  void start_churn() {
    if (state_ != State::ready || plan_.churn_topics <= 0 || churning_) return;
    churning_ = true;
    churn_next();
  }

  void maybe_ping(std::int64_t now) {
    // Keeps the server's heartbeat (2 x heartbeat_seconds of silence) from closing idle clients.
    if (state_ == State::ready && now - last_send_ns_ > 20'000'000'000LL) send_frame(op_text, R"({"type":"ping"})");
  }

 private:
  enum class State {
    token,
    connecting,
    handshake,
    sio_open,
    sio_connect,
    subscribing,
    status,
    ready,
    closing,
    dead
  };

  // The end of a normal close: the server's FIN (or a reset) came; an orderly close, no RST.
  void finish_close() {
    state_ = State::dead;
    beast::error_code ec;
    sock_.close(ec);
    bump(w_.c.gone);
  }

  void churn_next() {
    if (!w_.bench.churning.load(std::memory_order_relaxed) || state_ != State::ready) {
      churning_ = false;
      return;
    }
    const std::string prev = plan_.topic + "-" + std::to_string(churn_index_ % plan_.churn_topics);
    ++churn_index_;
    const std::string next = plan_.topic + "-" + std::to_string(churn_index_ % plan_.churn_topics);
    if (churn_index_ > 1) send_frame(op_text, "{\"type\":\"unsubscribe\",\"topic\":\"" + prev + "\"}");
    send_frame(op_text, "{\"type\":\"subscribe\",\"topic\":\"" + next + "\",\"id\":2}");
  }

  void fetch_token() {
    state_ = State::token;
    std::string body = "{\"user_id\":\"" + plan_.user + "\"}";
    w_.token_pipe()->request(http_post(t_, "/realtime/token", body, w_.bench.opt.api_key),
                             [self = shared_from_this()](int status, std::string_view body) {
                               if (self->state_ != State::token) return;
                               if (status != 200) return self->fail("token: HTTP " + std::to_string(status));
                               std::string token = json_field(body, "token");
                               if (token.empty()) return self->fail("token: no token in reply");
                               self->connect("/realtime/connect?token=" + token);
                             });
  }

  void connect(std::string path) {
    state_ = State::connecting;
    path_ = std::move(path);
    beast::error_code ec;
    if (!open_socket(w_.bench, sock_, ec)) return fail("socket: " + ec.message());
    if (w_.bench.opt.rcvbuf > 0) sock_.set_option(net::socket_base::receive_buffer_size(w_.bench.opt.rcvbuf), ec);
    sock_.async_connect(t_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (self->state_ != State::connecting) return;
      if (ec) return self->fail("connect: " + ec.message());
      self->sock_.set_option(tcp::no_delay(true), ec);
      self->state_ = State::handshake;
      self->out_ = "GET " + self->path_ + " HTTP/1.1\r\nHost: " + self->t_.host + ":" + std::to_string(self->t_.port) +
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n" +
                   std::string(self->t_.deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "") + "\r\n";
      self->path_.clear();
      self->path_.shrink_to_fit();
      self->flush();
      self->buf_.reset(new char[self->plan_.buffer]);
      self->cap_ = self->plan_.buffer;
      self->do_read();
    });
  }

  void do_read() {
    sock_.async_read_some(net::buffer(buf_.get() + len_, cap_ - len_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (state_ == State::dead) return;
    if (state_ == State::closing) {
      if (ec) return finish_close();
      len_ = 0;  // whatever the server still sends (its close frame, presence leaves) is dropped
      return do_read();
    }
    if (ec) return fail("read: " + ec.message());
    len_ += n;
    bump(w_.c.wire_bytes, n);
    std::size_t pos = 0;
    if (state_ == State::handshake) {
      std::string_view view(buf_.get(), len_);
      auto end = view.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (len_ == cap_) return fail("upgrade: response header too large");
        return do_read();
      }
      if (view.substr(0, 12) != "HTTP/1.1 101") {
        auto eol = view.find("\r\n");
        return fail("upgrade: " + std::string(view.substr(0, eol)));
      }
      pos = end + 4;
      if (t_.deflate && view.substr(0, end).find("permessage-deflate") == std::string_view::npos)
        return fail("upgrade: permessage-deflate offered but not negotiated");
      if (t_.socketio) {
        state_ = State::sio_open;  // the open packet comes first
      } else {
        state_ = State::subscribing;
        std::string sub = "{\"type\":\"subscribe\",\"topic\":\"" + plan_.topic + "\",\"id\":1}";
        send_frame(op_text, sub);
      }
    }
    // Frames.
    while (pos < len_) {
      FrameView f;
      std::size_t used = 0, needed = 0;
      auto st = parse_frame(buf_.get() + pos, len_ - pos, f, used, needed);
      if (st == ParseStatus::error) return fail("bad frame from server");
      if (st == ParseStatus::incomplete) {
        if (needed > cap_) {
          if (needed > (8u << 20)) return fail("frame too large");
          std::size_t cap = cap_;
          while (cap < needed) cap *= 2;
          std::unique_ptr<char[]> bigger(new char[cap]);
          std::memcpy(bigger.get(), buf_.get() + pos, len_ - pos);
          buf_ = std::move(bigger);
          cap_ = cap;
          len_ -= pos;
          pos = 0;
        }
        break;
      }
      if (!on_frame(f)) return;
      pos += used;
    }
    if (pos > 0) {
      std::memmove(buf_.get(), buf_.get() + pos, len_ - pos);
      len_ -= pos;
    }
    do_read();
  }

  // Returns false when the client is finished.
  bool on_frame(const FrameView& f) {
    switch (f.opcode) {
      case op_text:
      case op_binary:
      case op_continuation:
        break;
      case op_ping: {
        send_frame(op_pong, f.payload);
        return true;
      }
      case op_pong:
        return true;
      case op_close: {
        unsigned code = f.payload.size() >= 2
                            ? (unsigned(static_cast<unsigned char>(f.payload[0])) << 8) | static_cast<unsigned char>(f.payload[1])
                            : 1005;
        if (code == 4008 && state_ == State::ready) bump(w_.c.slow_closed);
        fail("closed by server with " + std::to_string(code));
        return false;
      }
      default:
        fail("unknown opcode");
        return false;
    }
    bump(w_.c.frames);
    std::string_view p = f.payload;
    if (plan_.bucket >= 0 && !t_.socketio) count_presence(p);
    if (t_.socketio) {
      if (p == "2") {  // Engine.IO ping: the server's heartbeat
        send_frame(op_text, "3");
        return true;
      }
      if (state_ == State::sio_open) {
        if (p.empty() || p[0] != '0') return fail("socket.io: no open packet"), false;
        state_ = State::sio_connect;
        send_frame(op_text, "40");
        return true;
      }
      if (state_ == State::sio_connect) {
        if (p.rfind("40", 0) != 0) return fail("socket.io CONNECT refused: " + std::string(p.substr(0, 200))), false;
        send_frame(op_text, "42[\"subscribe\",{\"topic\":\"" + plan_.topic + "\"}]");
        state_ = State::ready;  // Socket.IO has no subscribe reply: the run waits before publishing
        report(true);
        return true;
      }
    }
    if (state_ == State::subscribing) {
      if (p.rfind("{\"type\":\"subscribed\"", 0) == 0) {
        if (plan_.presence_status) {
          // A reconnecting app sets its status again; an unchanged status emits no event.
          state_ = State::status;
          send_frame(op_text, R"({"type":"presence","status":"online","id":3})");
          return true;
        }
        state_ = State::ready;
        report(true);
      } else if (p.rfind("{\"type\":\"error\"", 0) == 0) {
        fail("subscribe refused: " + std::string(p.substr(0, 200)));
        return false;
      }
      return true;
    }
    if (state_ == State::status) {
      if (p.rfind("{\"type\":\"ack\"", 0) == 0 && p.find("\"id\":3") != std::string_view::npos) {
        state_ = State::ready;
        report(true);
      } else if (p.rfind("{\"type\":\"error\"", 0) == 0) {
        fail("presence status refused: " + std::string(p.substr(0, 200)));
        return false;
      }
      return true;
    }
    if (churning_ && p.find("\"id\":2") != std::string_view::npos) {
      if (p.rfind("{\"type\":\"subscribed\"", 0) == 0) {
        bump(w_.c.subscribes);
        churn_next();
      } else if (p.rfind("{\"type\":\"error\"", 0) == 0) {
        fail("churn: " + std::string(p.substr(0, 200)));
        return false;
      }
      return true;
    }
    const std::string_view marker = t_.socketio ? sio_event_marker : event_marker;
    if (f.rsv1) {
      // A compressed event (replies and small events come plain): one delivery per frame,
      // inflated only when it is a latency sample.
      bump(w_.c.events);
      if (++w_.sample_counter >= static_cast<std::uint32_t>(w_.bench.opt.sample_every) &&
          w_.bench.recording.load(std::memory_order_relaxed)) {
        w_.sample_counter = 0;
        if (!inflate_sample(p)) return true;
        const std::string_view text = w_.inflated;
        const auto at = text.find(marker);
        if (at == std::string_view::npos) return true;
        std::int64_t t = 0;
        for (std::size_t i = at + marker.size(); i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
          t = t * 10 + (text[i] - '0');
        if (t > 0 && w_.samples.size() < w_.sample_cap) w_.samples.push_back(now_ns() - t);
      }
      return true;
    }
    auto m = p.find(marker);
    if (m == std::string_view::npos) return true;
    bump(w_.c.events);
    // Every Nth event this worker receives (over all its clients) is a latency sample.
    if (++w_.sample_counter >= static_cast<std::uint32_t>(w_.bench.opt.sample_every) &&
        w_.bench.recording.load(std::memory_order_relaxed)) {
      w_.sample_counter = 0;
      std::int64_t t = 0;
      for (std::size_t i = m + marker.size(); i < p.size() && p[i] >= '0' && p[i] <= '9'; ++i) t = t * 10 + (p[i] - '0');
      if (t > 0 && w_.samples.size() < w_.sample_cap) w_.samples.push_back(now_ns() - t);
    }
    return true;
  }

  // Storm: presence events this client receives, by kind, for its channel-size bucket.
  void count_presence(std::string_view p) {
    if (p.rfind("{\"type\":\"event\"", 0) != 0) return;
    const auto e = p.find("\"event\":\"realtime.presence.");
    if (e == std::string_view::npos) return;
    const std::string_view kind = p.substr(e + 27, 8);
    const auto b = static_cast<std::size_t>(plan_.bucket);
    if (kind.rfind("changed", 0) == 0)
      bump(w_.presence_changed[b]);
    else if (kind.rfind("diff", 0) == 0)
      bump(w_.presence_diff[b]);
  }

  // Inflates one permessage-deflate message (the sender dropped the sync flush's 00 00 ff ff)
  // into the worker's scratch.
  bool inflate_sample(std::string_view compressed) {
    if (!w_.inflater) {
      w_.inflater.reset(new z_stream{});
      if (inflateInit2(w_.inflater.get(), -15) != Z_OK) return false;
    } else if (inflateReset(w_.inflater.get()) != Z_OK) {
      return false;
    }
    static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
    w_.inflated.resize(std::max<std::size_t>(compressed.size() * 16, 16384));
    z_stream& s = *w_.inflater;
    s.next_out = reinterpret_cast<Bytef*>(w_.inflated.data());
    s.avail_out = static_cast<uInt>(w_.inflated.size());
    for (std::string_view part : {compressed, std::string_view(reinterpret_cast<const char*>(tail), 4)}) {
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
      s.avail_in = static_cast<uInt>(part.size());
      const int rc = inflate(&s, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return false;
    }
    w_.inflated.resize(w_.inflated.size() - s.avail_out);
    return true;
  }

  void send_frame(std::uint8_t opcode, std::string_view payload) {
    append_masked_frame(out_, opcode, payload, static_cast<std::uint32_t>(index_ * 2654435761u));
    last_send_ns_ = now_ns();
    flush();
  }

  void flush() {
    if (writing_ || state_ == State::dead) return;
    if (out_.empty()) {
      if (shutdown_after_write_) {  // the close frame is out: FIN
        shutdown_after_write_ = false;
        beast::error_code ec;
        sock_.shutdown(tcp::socket::shutdown_send, ec);
      }
      return;
    }
    writing_ = true;
    wbuf_.swap(out_);
    out_.clear();
    net::async_write(sock_, net::buffer(wbuf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (self->state_ == State::dead) return;
      if (ec) return self->fail("write: " + ec.message());
      self->flush();
    });
  }

  void fail(const std::string& why) {
    if (state_ == State::dead) return;
    if (state_ == State::closing) return finish_close();
    const bool was_ready = state_ == State::ready;
    state_ = State::dead;
    abort_socket(sock_);
    if (was_ready) {
      bump(w_.c.closed);
      w_.note_failure("after ready: " + why);
    } else {
      w_.note_failure(why);
      report(false);
    }
  }

  void report(bool ok) {
    // Posted: a synchronous failure inside start() must not re-enter the launcher.
    net::post(w_.io, [w = &w_, ns = now_ns() - started_ns_, ok, i = index_] {
      w->on_client_done(ns, ok, i);
    });
  }

  Worker& w_;
  const Target& t_;
  ClientPlan plan_;
  std::uint64_t index_;
  tcp::socket sock_;
  std::string path_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0, len_ = 0;
  std::string out_, wbuf_;
  bool writing_ = false;
  bool shutdown_after_write_ = false;
  bool churning_ = false;
  std::uint64_t churn_index_ = 0;
  State state_ = State::token;
  std::int64_t started_ns_ = 0, last_send_ns_ = 0;
};

void Worker::launch_more() {
  while (inflight < max_inflight && launch_next < launch_end) {
    const std::size_t i = launch_next;
    launch_next += launch_stride;
    auto client = std::make_shared<WsClient>(*this, *launch_target, plan_for(i), i);
    clients.push_back(client);
    ++inflight;
    client->start();
  }
}

void Worker::on_client_done(std::int64_t setup_ns, bool ok, std::size_t index) {
  --inflight;
  if (ok) {
    bump(c.ready);
    if (record_setup && samples.size() < sample_cap) samples.push_back(setup_ns);
  } else {
    bump(c.failed);
    failed_indexes.push_back(index);
  }
  c.last_done_ns.store(now_ns(), std::memory_order_relaxed);
  launch_more();
}

void Worker::schedule_pings() {
  ping_timer.expires_after(std::chrono::seconds(5));
  ping_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    const auto now = now_ns();
    for (auto& c : clients) c->maybe_ping(now);
    schedule_pings();
  });
}

std::shared_ptr<HttpPipe> Worker::token_pipe() {
  auto& p = token_pipes[next_token_pipe++ % token_pipes.size()];
  if (p->dead()) {  // a broken pipe is replaced, not retried forever: the client fails instead
    p = std::make_shared<HttpPipe>(bench, io, launch_target->endpoint);
    p->start();
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Fleet: the controller's view of N clients spread over the workers.

struct FleetResult {
  std::uint64_t ready = 0, failed = 0;
  double seconds = 0;  // from the first start to the last completion
  std::vector<std::string> notes;
};

std::vector<std::int64_t> take_samples(Bench& b) {
  std::vector<std::int64_t> all;
  run_all(b, [&](Worker& w) {
    all.insert(all.end(), w.samples.begin(), w.samples.end());
    w.samples.clear();
    w.samples.shrink_to_fit();
  });
  return all;
}

std::vector<std::string> take_notes(Bench& b) {
  std::vector<std::string> notes;
  run_all(b, [&](Worker& w) {
    for (auto& n : w.failure_notes) notes.push_back(n);
    w.failure_notes.clear();
  });
  return notes;
}

FleetResult connect_fleet(Bench& b, const Target& t, std::size_t n, int concurrency, bool tokens, bool record_setup,
                          std::function<ClientPlan(std::size_t)> plan_for, double timeout_s) {
  const auto ready0 = b.sum(&Counters::ready), failed0 = b.sum(&Counters::failed);
  const std::int64_t start = now_ns();
  const std::size_t nw = b.workers.size();
  run_all(b, [&](Worker& w) {
    w.launch_target = &t;
    w.plan_for = plan_for;
    w.launch_next = static_cast<std::size_t>(w.index);
    w.launch_end = n;
    w.launch_stride = nw;
    w.inflight = 0;
    w.max_inflight = std::max(1, concurrency / static_cast<int>(nw));
    w.record_setup = record_setup;
    w.clients.reserve(n / nw + 1);
    if (tokens && w.token_pipes.empty()) {
      for (int i = 0; i < 4; ++i) {
        w.token_pipes.push_back(std::make_shared<HttpPipe>(b, w.io, t.endpoint));
        w.token_pipes.back()->start();
      }
    }
    w.launch_more();
  });
  FleetResult r;
  while (true) {
    r.ready = b.sum(&Counters::ready) - ready0;
    r.failed = b.sum(&Counters::failed) - failed0;
    if (r.ready + r.failed >= n) break;
    if (seconds_since(start) > timeout_s) {
      std::cerr << "  setup timed out after " << timeout_s << " s: " << r.ready << " ready, " << r.failed << " failed of " << n << "\n";
      r.failed = n - r.ready;
      break;
    }
    sleep_s(0.002);
  }
  std::int64_t last = start;
  for (auto& w : b.workers) last = std::max(last, w->c.last_done_ns.load());
  r.seconds = double(last - start) / 1e9;
  run_all(b, [&](Worker& w) {
    w.launch_end = w.launch_next;  // stop launching (timeout case)
    for (auto& p : w.token_pipes) p->close();
    w.token_pipes.clear();
  });
  r.notes = take_notes(b);
  return r;
}

void close_fleet(Bench& b) {
  run_all(b, [](Worker& w) {
    for (auto& c : w.clients) c->abort();
    w.clients.clear();
    w.clients.shrink_to_fit();
  });
}

// CPU seconds used so far by a target's server, its redis-servers (summed) and this process:
// two snapshots bound a measured window.
struct CpuSnapshot {
  double server = -1, redis = -1, client = 0;
  std::int64_t at_ns = 0;
};

CpuSnapshot cpu_snapshot(const Target& t) {
  CpuSnapshot c;
  c.server = process_cpu_seconds(t.pid);
  if (!t.redis_pids.empty()) {
    c.redis = 0;
    for (int pid : t.redis_pids) {
      const double x = process_cpu_seconds(pid);
      if (x < 0) {
        c.redis = -1;
        break;
      }
      c.redis += x;
    }
  }
  c.client = self_cpu_seconds();
  c.at_ns = now_ns();
  return c;
}

// Microseconds of CPU per operation between two snapshots; -1 when unknown.
struct CpuPerOp {
  double server = -1, redis = -1, client = -1;
};

CpuPerOp cpu_per_op(const CpuSnapshot& a, const CpuSnapshot& b, double ops) {
  CpuPerOp r;
  if (ops <= 0) return r;
  if (a.server >= 0 && b.server >= 0) r.server = (b.server - a.server) / ops * 1e6;
  if (a.redis >= 0 && b.redis >= 0) r.redis = (b.redis - a.redis) / ops * 1e6;
  r.client = (b.client - a.client) / ops * 1e6;
  return r;
}

struct Teardown {
  double seconds = 0;      // from the first close frame to the server's fds back at the baseline
  int fds_left = -1;       // open fds above the baseline when the wait ended (0: all gone)
  std::uint64_t gone = 0;  // clients whose close handshake ended (the server's FIN)
};

// Every client closes normally (close frame, FIN); then waits until the server has let go of
// them: its open fds back at `fd_baseline` (or, without a readable pid, every client's close
// handshake done), at most `max_s`; then `settle_s` more, for work a server defers (last-seen
// rows are written in 50 ms windows). What is still open after that is reset.
Teardown teardown_fleet(Bench& b, const Target& t, int fd_baseline, std::uint64_t clients,
                        double max_s, double settle_s = 0.3) {
  Teardown td;
  const auto gone0 = b.sum(&Counters::gone);
  const std::int64_t start = now_ns();
  run_all(b, [](Worker& w) {
    for (auto& c : w.clients) c->close_gracefully();
  });
  const bool by_fds = fd_baseline >= 0 && count_fds(t.pid) >= 0;
  while (true) {
    if (by_fds) {
      const int fds = count_fds(t.pid);
      td.fds_left = std::max(0, fds - fd_baseline);
      if (fds >= 0 && fds <= fd_baseline) break;
    } else if (b.sum(&Counters::gone) - gone0 >= clients) {
      break;
    }
    if (seconds_since(start) > max_s) {
      std::cerr << "  teardown: still "
                << (by_fds ? std::to_string(td.fds_left) + " server fds above the baseline"
                           : "closing")
                << " after " << max_s << " s\n";
      break;
    }
    sleep_s(0.01);
  }
  td.seconds = seconds_since(start);
  sleep_s(settle_s);
  td.gone = b.sum(&Counters::gone) - gone0;
  close_fleet(b);
  return td;
}

// Waits until no frame arrived for `quiet_s` (presence storms after joins, welcome frames...).
bool quiesce(Bench& b, double quiet_s = 0.3, double max_s = 15) {
  const std::int64_t start = now_ns();
  auto last = b.sum(&Counters::frames);
  std::int64_t last_change = now_ns();
  while (seconds_since(start) < max_s) {
    sleep_s(0.05);
    auto f = b.sum(&Counters::frames);
    if (f != last) {
      last = f;
      last_change = now_ns();
    } else if (seconds_since(last_change) >= quiet_s) {
      return true;
    }
  }
  std::cerr << "  warning: frames still arriving after " << max_s << " s (the server is working off a backlog)\n";
  return false;
}

// ---------------------------------------------------------------------------------------------
// Publisher: batched POST /realtime/publish over a few pipelined keep-alive connections.

// --chat-payload: a chat message as an app publishes it (486 bytes of JSON): ids, a user with a
// display name and avatar URL, a sentence of text, timestamps, reactions, mentions.
constexpr std::string_view chat_message_json =
    R"({"id":"msg-01HZX3K9V7Q2","channelId":"channel:general","user":{"id":"user-1842",)"
    R"("displayName":"Ada Lovelace","avatarUrl":"https://cdn.example.com/avatars/user-1842.png"},)"
    R"("text":"Has anyone looked at the deploy from this morning? The realtime numbers look )"
    R"(better than last week; fan-out is fine and the presence diffs are small.",)"
    R"("createdAt":"2026-12-02T05:31:07.412Z","editedAt":null,"reactions":[{"emoji":"thumbsup",)"
    R"("count":3},{"emoji":"eyes","count":1}],"mentions":["user-77","user-1003"],"threadId":null,)"
    R"("attachments":[]})";

struct PublishPlan {
  std::vector<std::string> topics;  // one: fixed topic; more: a random one per message
  int batch = 100;
  double fanout = 1;                // deliveries expected per message
  double rate_msgs = 0;             // 0: as fast as the lag bound allows
  double lag_cap = 1e9;             // max outstanding deliveries (max mode)
};

class Publisher : public std::enable_shared_from_this<Publisher> {
 public:
  Publisher(Bench& b, Worker& w, const Target& t, PublishPlan plan)
      : b_(b), w_(w), t_(t), plan_(std::move(plan)), timer_(w.io), rng_(12345) {
    // What follows "t" in each event's data.
    if (t.chat_payload) pad_ = ",\"message\":" + std::string(chat_message_json) + "}}";
    else pad_ = ",\"p\":\"" + std::string(static_cast<std::size_t>(b.opt.payload_bytes), 'x') + "\"}}";
  }

  // On the worker thread.
  void start() {
    for (int i = 0; i < b_.opt.pipes; ++i) {
      if (t_.redis_publish) pipes_.push_back(std::make_shared<RedisPipe>(b_, w_.io, *t_.redis_publish));
      else pipes_.push_back(std::make_shared<HttpPipe>(b_, w_.io, t_.endpoint));
      pipes_.back()->start();
    }
    events_base_ = b_.sum(&Counters::events);
    start_ns_ = now_ns();
    running_ = true;
    tick();
  }
  // Stops sending; the requests in flight still get their answers (see close()).
  void stop() {
    running_ = false;
    timer_.cancel();
  }
  std::size_t in_flight() const {
    std::size_t n = 0;
    for (auto& p : pipes_) n += p->dead() ? 0 : p->in_flight();
    return n;
  }
  void close() {
    for (auto& p : pipes_) p->close();
    pipes_.clear();
  }

  std::atomic<std::uint64_t> sent_msgs{0}, acked_msgs{0}, errors{0}, behind{0};
  std::uint64_t events_base() const { return events_base_; }

 private:
  void tick() {
    if (!running_) return;
    if (plan_.rate_msgs <= 0) pump_max();
    else pump_paced();
    const double interval = plan_.rate_msgs > 0 ? plan_.batch / plan_.rate_msgs : 1e-3;
    timer_.expires_after(std::chrono::microseconds(static_cast<long>(std::clamp(interval, 2e-4, 2e-3) * 1e6)));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->tick();
    });
  }

  PublishPipe* free_pipe() {
    PublishPipe* best = nullptr;
    for (auto& p : pipes_) {
      if (p->dead()) continue;
      if (p->in_flight() < static_cast<std::size_t>(b_.opt.depth) && (!best || p->in_flight() < best->in_flight())) best = p.get();
    }
    return best;
  }

  void pump_max() {
    for (int guard = 0; guard < 1000 && running_; ++guard) {
      const double delivered = double(b_.sum(&Counters::events) - events_base_);
      const double outstanding = double(sent_msgs.load(std::memory_order_relaxed)) * plan_.fanout - delivered;
      if (outstanding + plan_.batch * plan_.fanout > plan_.lag_cap) return;
      PublishPipe* p = free_pipe();
      if (!p) return;
      send(*p);
    }
  }

  void pump_paced() {
    const double elapsed = double(now_ns() - start_ns_) / 1e9;
    const auto due = static_cast<std::uint64_t>(elapsed * plan_.rate_msgs / plan_.batch) + 1;
    int sent_now = 0;
    while (sent_batches_ < due && running_ && sent_now < 256) {
      PublishPipe* p = free_pipe();
      if (!p) {
        bump(behind, due - sent_batches_);
        sent_batches_ = due;  // skipped, not sent late in a burst
        return;
      }
      send(*p);
      ++sent_batches_;
      ++sent_now;
    }
  }

  void send(PublishPipe& p) {
    const std::int64_t t = now_ns();
    if (t_.redis_publish) return send_redis(p, t);
    body_.clear();
    body_ += "{\"messages\":[";
    for (int i = 0; i < plan_.batch; ++i) {
      if (i) body_ += ',';
      body_ += "{\"topic\":\"";
      body_ += plan_.topics.size() == 1 ? plan_.topics[0] : plan_.topics[rng_() % plan_.topics.size()];
      body_ += "\",\"event\":\"bench\",\"data\":{\"t\":";
      body_ += std::to_string(t);
      body_ += pad_;
    }
    body_ += "]}";
    const auto n = static_cast<std::uint64_t>(plan_.batch);
    bump(sent_msgs, n);
    p.send_batch(http_post(t_, "/realtime/publish", body_, b_.opt.api_key), 1, answer(n));
  }

  // The direct publish of docs/protocol.md: one PUBLISH per event, the batch in one write.
  void send_redis(PublishPipe& p, std::int64_t t) {
    body_.clear();
    for (int i = 0; i < plan_.batch; ++i) {
      const std::string& topic = plan_.topics.size() == 1 ? plan_.topics[0] : plan_.topics[rng_() % plan_.topics.size()];
      msg_.clear();
      msg_ += "{\"topic\":\"";
      msg_ += topic;
      msg_ += "\",\"event\":\"bench\",\"data\":{\"t\":";
      msg_ += std::to_string(t);
      msg_ += pad_;
      RedisPipe::append_publish(body_, b_.opt.redis_prefix + "topic:" + topic, msg_);
    }
    const auto n = static_cast<std::uint64_t>(plan_.batch);
    bump(sent_msgs, n);
    p.send_batch(body_, plan_.batch, answer(n));
  }

  PublishPipe::Done answer(std::uint64_t n) {
    return [self = shared_from_this(), n](int status, std::string_view body) {
      if (status == 202 || status == 200) {
        bump(self->acked_msgs, n);
      } else {
        bump(self->errors);
        if (self->errors.load() <= 3)
          std::cerr << "  publish: " << (self->t_.redis_publish ? "Redis " : "HTTP ") << status << " " << std::string(body.substr(0, 200)) << "\n";
      }
      if (self->running_ && self->plan_.rate_msgs <= 0) self->pump_max();
    };
  }

  Bench& b_;
  Worker& w_;
  const Target& t_;
  PublishPlan plan_;
  net::steady_timer timer_;
  std::mt19937_64 rng_;
  std::vector<std::shared_ptr<PublishPipe>> pipes_;
  std::string pad_, body_, msg_;
  std::uint64_t events_base_ = 0, sent_batches_ = 0;
  std::int64_t start_ns_ = 0;
  bool running_ = false;
};

struct PhaseResult {
  double deliveries_per_s = 0;
  double published_per_s = 0;
  double wire_bytes_per_delivery = 0;  // what the subscribers received, over what they counted
  double server_cpu = -1, client_cpu = -1;  // cores busy during the measured window
  double redis_cpu = -1, redis_busiest = -1;  // all the target's redis-servers, and the busiest
  std::uint64_t sent = 0, acked = 0, delivered = 0, lost = 0, errors = 0, behind = 0, closed = 0, slow = 0;
  Percentiles lat;  // ns
};

PhaseResult run_phase(Bench& b, const Target& t, PublishPlan plan, bool latency) {
  PhaseResult r;
  Worker& w0 = *b.workers[0];
  take_samples(b);
  const auto closed0 = b.sum(&Counters::closed), slow0 = b.sum(&Counters::slow_closed);
  auto pub = std::make_shared<Publisher>(b, w0, t, plan);
  run_sync(w0, [&] { pub->start(); });
  sleep_s(b.opt.warmup);
  b.recording = latency;
  const auto e0 = b.sum(&Counters::events);
  const auto w0_bytes = b.sum(&Counters::wire_bytes);
  const auto s0 = pub->acked_msgs.load();
  const double server_cpu0 = process_cpu_seconds(t.pid), client_cpu0 = self_cpu_seconds();
  std::vector<double> redis_cpu0;
  for (int pid : t.redis_pids) redis_cpu0.push_back(process_cpu_seconds(pid));
  const std::int64_t t0 = now_ns();
  // A fixed window, whatever the target does (a dead one simply delivers nothing).
  while (seconds_since(t0) < b.opt.duration) sleep_s(0.05);
  const auto e1 = b.sum(&Counters::events);
  const auto w1_bytes = b.sum(&Counters::wire_bytes);
  const auto s1 = pub->acked_msgs.load();
  const double secs = double(now_ns() - t0) / 1e9;
  const double server_cpu1 = process_cpu_seconds(t.pid), client_cpu1 = self_cpu_seconds();
  b.recording = false;
  if (server_cpu0 >= 0 && server_cpu1 >= 0) r.server_cpu = (server_cpu1 - server_cpu0) / secs;
  r.client_cpu = (client_cpu1 - client_cpu0) / secs;
  for (std::size_t i = 0; i < t.redis_pids.size(); ++i) {
    const double cpu1 = process_cpu_seconds(t.redis_pids[i]);
    if (redis_cpu0[i] < 0 || cpu1 < 0) continue;
    const double cores = (cpu1 - redis_cpu0[i]) / secs;
    r.redis_cpu = std::max(0.0, r.redis_cpu) + cores;
    r.redis_busiest = std::max(r.redis_busiest, cores);
  }
  run_sync(w0, [&] { pub->stop(); });
  // Let the requests in flight be answered (bounded): a reset would drop them unread.
  for (int i = 0; i < 250; ++i) {
    std::size_t left = 0;
    run_sync(w0, [&] { left = pub->in_flight(); });
    if (left == 0) break;
    sleep_s(0.02);
  }
  run_sync(w0, [&] { pub->close(); });
  r.sent = pub->sent_msgs.load();
  r.acked = pub->acked_msgs.load();
  const double expected = double(r.acked) * plan.fanout;
  // Drain what is still on its way (bounded).
  const std::int64_t drain_start = now_ns();
  while (seconds_since(drain_start) < 5) {
    if (double(b.sum(&Counters::events) - pub->events_base()) >= expected) break;
    sleep_s(0.02);
  }
  quiesce(b, 0.2, 3);
  r.delivered = b.sum(&Counters::events) - pub->events_base();
  r.lost = expected > double(r.delivered) ? static_cast<std::uint64_t>(expected - double(r.delivered)) : 0;
  r.deliveries_per_s = double(e1 - e0) / secs;
  if (e1 > e0) r.wire_bytes_per_delivery = double(w1_bytes - w0_bytes) / double(e1 - e0);
  r.published_per_s = double(s1 - s0) / secs;
  r.errors = pub->errors.load();
  r.behind = pub->behind.load();
  r.closed = b.sum(&Counters::closed) - closed0;
  r.slow = b.sum(&Counters::slow_closed) - slow0;
  auto samples = take_samples(b);
  r.lat = percentiles(samples);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Results

json::object base_record(Bench& b, const std::string& scenario, const Target& t) {
  json::object o;
  o["run"] = b.opt.run_id;
  o["time"] = utc_now();
  o["scenario"] = scenario;
  o["target"] = t.name;
  o["url"] = "ws://" + t.host + ":" + std::to_string(t.port);
  o["tokens"] = t.tokens;
  if (auto it = b.opt.describe.find(t.name); it != b.opt.describe.end()) o["server"] = it->second;
  o["client_threads"] = b.opt.threads;
  o["client_poll_us"] = b.opt.poll_us;
  o["cores"] = std::thread::hardware_concurrency();
  o["loadavg_1m"] = load_average();
  return o;
}

void emit(Bench& b, json::object o) {
  const std::string line = json::serialize(o);
  std::cout << line << std::endl;
  if (!b.opt.out_file.empty()) {
    std::ofstream out(b.opt.out_file, std::ios::app);
    out << line << '\n';
  }
  b.records.push_back(std::move(o));
}

void put_latency(json::object& o, const Percentiles& p) {
  o["latency_samples"] = p.count;
  o["p50_us"] = std::llround(p.p50 / 1e3);
  o["p90_us"] = std::llround(p.p90 / 1e3);
  o["p99_us"] = std::llround(p.p99 / 1e3);
  o["max_us"] = std::llround(p.max / 1e3);
}

json::array notes_json(const std::vector<std::string>& notes) {
  json::array a;
  for (auto& n : notes) a.emplace_back(n);
  return a;
}

// Order of targets in round r: alternate so neither always runs first on a warmer machine.
std::vector<const Target*> order_for_round(Bench& b, int r) {
  std::vector<const Target*> v;
  for (auto& t : b.opt.targets) v.push_back(&t);
  if (r % 2 == 1) std::reverse(v.begin(), v.end());
  return v;
}

// fanout and chat share this: connect, max phase per target; then a latency phase per target at
// the same absolute rate for everyone.
void run_throughput_scenario(Bench& b, const std::string& scenario) {
  const bool chat = scenario == "chat";
  const std::size_t n = chat ? static_cast<std::size_t>(b.opt.chat_connections) : static_cast<std::size_t>(b.opt.subscribers);
  const int topics = chat ? b.opt.chat_topics : 1;
  const std::size_t buffer = chat ? 16 * 1024 : 64 * 1024;
  auto topic_name = [&](std::size_t i) {
    return chat ? "channel:chat-" + std::to_string(i % static_cast<std::size_t>(topics)) : std::string("channel:fanout");
  };
  auto plan_for = [&](std::size_t i) {
    ClientPlan p;
    p.user = (chat ? "chat" : "fan") + std::to_string(i);
    p.topic = topic_name(i);
    p.buffer = buffer;
    return p;
  };
  // Latency is measured with smaller publishes in fanout (10 messages = 10,000 deliveries for
  // 1,000 subscribers) so that it is not just the time to fan out one huge batch.
  const int latency_batch = b.opt.latency_batch > 0 ? b.opt.latency_batch : chat ? b.opt.batch : std::min(10, b.opt.batch);
  std::vector<std::string> topic_list;
  for (int i = 0; i < topics; ++i) topic_list.push_back(topic_name(static_cast<std::size_t>(i)));

  struct PerTarget {
    std::vector<double> max_rates, pub_rates, server_cpu, client_cpu, redis_cpu, redis_busiest;
    std::vector<double> wire_bytes;  // per delivery, max-rate phase
    std::vector<PhaseResult> max_phases, lat_phases;
    std::vector<std::int64_t> lat_samples;
    std::uint64_t failed = 0, ready = 0;
    std::vector<std::string> notes;
  };
  std::map<std::string, PerTarget> per;

  auto setup = [&](const Target& t) -> std::optional<FleetResult> {
    std::cerr << "[" << scenario << "] " << t.name << ": connecting " << n << " subscribers\n";
    auto f = connect_fleet(b, t, n, b.opt.setup_concurrency, false, false, plan_for, 60);
    std::cerr << "  " << f.ready << " ready, " << f.failed << " failed in " << fixed(f.seconds, 2) << " s\n";
    for (auto& note : f.notes) std::cerr << "  note: " << note << "\n";
    per[t.name].failed += f.failed;
    per[t.name].ready = f.ready;
    per[t.name].notes.insert(per[t.name].notes.end(), f.notes.begin(), f.notes.end());
    quiesce(b);
    if (f.ready == 0) {
      close_fleet(b);
      return std::nullopt;
    }
    return f;
  };

  for (int r = 0; r < b.opt.rounds && !b.opt.latency_only; ++r) {
    for (const Target* t : order_for_round(b, r)) {
      auto f = setup(*t);
      if (!f) continue;
      PublishPlan plan;
      plan.topics = topic_list;
      plan.batch = b.opt.batch;
      plan.fanout = double(f->ready) / topics;
      plan.lag_cap = double(b.opt.lag) * double(f->ready);
      auto res = run_phase(b, *t, plan, false);
      std::cerr << "  max: " << human(res.deliveries_per_s) << " deliveries/s (" << human(res.published_per_s)
                << " published msgs/s; server " << fixed(res.server_cpu, 2) << " cores, client " << fixed(res.client_cpu, 2)
                << " cores; sent " << res.sent << ", acked " << res.acked << ", delivered " << res.delivered
                << "), lost " << res.lost << ", closed " << res.closed << ", http errors " << res.errors << "\n";
      per[t->name].max_rates.push_back(res.deliveries_per_s);
      if (res.wire_bytes_per_delivery > 0) per[t->name].wire_bytes.push_back(res.wire_bytes_per_delivery);
      if (res.server_cpu >= 0) per[t->name].server_cpu.push_back(res.server_cpu);
      if (res.redis_cpu >= 0) {
        per[t->name].redis_cpu.push_back(res.redis_cpu);
        per[t->name].redis_busiest.push_back(res.redis_busiest);
        std::cerr << "  redis: " << fixed(res.redis_cpu, 2) << " cores over " << t->redis_pids.size()
                  << " redis-server(s), the busiest " << fixed(res.redis_busiest, 2) << "\n";
      }
      per[t->name].client_cpu.push_back(res.client_cpu);
      per[t->name].pub_rates.push_back(res.published_per_s);
      per[t->name].max_phases.push_back(res);
      close_fleet(b);
      sleep_s(0.5);
    }
  }
  // The latency phase runs every target at the same absolute rate.
  double slowest = 0;
  for (auto& t : b.opt.targets) {
    double m = median(per[t.name].max_rates);
    if (m > 0 && (slowest == 0 || m < slowest)) slowest = m;
  }
  if (!b.opt.latency_base.empty() && median(per[b.opt.latency_base].max_rates) > 0)
    slowest = median(per[b.opt.latency_base].max_rates);
  const double lat_rate = b.opt.latency_rate > 0 ? b.opt.latency_rate : b.opt.latency_fraction * slowest;
  if (lat_rate > 0) {
    for (int r = 0; r < b.opt.rounds; ++r) {
      for (const Target* t : order_for_round(b, r)) {
        if (per[t->name].max_rates.empty() && !b.opt.latency_only) continue;
        auto f = setup(*t);
        if (!f) continue;
        PublishPlan plan;
        plan.topics = topic_list;
        plan.batch = latency_batch;
        plan.fanout = double(f->ready) / topics;
        plan.rate_msgs = lat_rate / plan.fanout;
        auto res = run_phase(b, *t, plan, true);
        std::cerr << "  latency @ " << human(lat_rate) << " deliveries/s: got " << human(res.deliveries_per_s)
                  << "/s, p50 " << fixed(res.lat.p50 / 1e6, 2) << " ms, p99 " << fixed(res.lat.p99 / 1e6, 2)
                  << " ms, max " << fixed(res.lat.max / 1e6, 2) << " ms, lost " << res.lost << ", behind " << res.behind << "\n";
        per[t->name].lat_phases.push_back(res);
        close_fleet(b);
        sleep_s(0.5);
      }
    }
  }
  for (auto& t : b.opt.targets) {
    auto& p = per[t.name];
    json::object o = base_record(b, scenario, t);
    o["connections"] = n;
    o["topics"] = topics;
    o["subscribers_per_topic"] = static_cast<std::int64_t>(n / static_cast<std::size_t>(topics));
    o["setup_failures"] = p.failed;
    o["batch"] = b.opt.batch;
    o["publish_via"] = t.redis_publish ? "redis" : "http";
    o["payload_bytes"] = b.opt.payload_bytes;
    if (t.chat_payload) o["payload"] = "chat message object";
    if (t.deflate) o["permessage_deflate"] = true;
    if (!p.wire_bytes.empty()) o["wire_bytes_per_delivery"] = std::llround(median(p.wire_bytes));
    o["duration_s"] = b.opt.duration;
    o["deliveries_per_s"] = std::llround(median(p.max_rates));
    o["published_msgs_per_s"] = std::llround(median(p.pub_rates));
    // Cores used while publishing at max, and server CPU per delivery: a figure that a busy
    // machine distorts less than the rate itself.
    if (!p.server_cpu.empty()) {
      const double cores = median(p.server_cpu);
      o["server_cores"] = double(std::llround(cores * 100)) / 100;
      if (median(p.max_rates) > 0) o["server_cpu_us_per_delivery"] = double(std::llround(cores / median(p.max_rates) * 1e8)) / 100;
    }
    o["client_cores"] = double(std::llround(median(p.client_cpu) * 100)) / 100;
    // Redis' share: CPU per published event, and the published rate at which the busiest
    // redis-server would use a whole core (where Redis becomes the bottleneck).
    if (!p.redis_cpu.empty()) {
      const double cores = median(p.redis_cpu), busiest = median(p.redis_busiest);
      const double published = median(p.pub_rates);
      o["redis_servers"] = static_cast<std::int64_t>(t.redis_pids.size());
      o["redis_cores"] = double(std::llround(cores * 100)) / 100;
      o["redis_busiest_cores"] = double(std::llround(busiest * 100)) / 100;
      if (published > 0) {
        o["redis_cpu_us_per_published"] = double(std::llround(cores / published * 1e8)) / 100;
        if (busiest > 0) o["redis_bound_published_per_s"] = std::llround(published / busiest);
      }
    }
    json::array rounds;
    std::uint64_t lost = 0, closed = 0, slow = 0, errors = 0;
    for (auto& m : p.max_phases) {
      rounds.emplace_back(std::llround(m.deliveries_per_s));
      lost += m.lost;
      closed += m.closed;
      slow += m.slow;
      errors += m.errors;
    }
    o["deliveries_per_s_rounds"] = rounds;
    o["lost"] = lost;
    o["closed"] = closed;
    o["slow_consumer_closes"] = slow;
    o["http_errors"] = errors;
    o["latency_rate"] = std::llround(lat_rate);
    if (b.opt.latency_only) o["latency_only"] = true;
    // A base target that delivered nothing left the rate at the slowest target's.
    const bool base_used = !b.opt.latency_base.empty() && median(per[b.opt.latency_base].max_rates) > 0;
    o["latency_base"] = b.opt.latency_rate > 0 ? "fixed" : base_used ? b.opt.latency_base : "slowest";
    o["latency_batch"] = latency_batch;
    o["latency_fraction"] = b.opt.latency_fraction;
    o["sample_every"] = b.opt.sample_every;
    if (!p.lat_phases.empty()) {
      // Merge rounds: percentiles of every sample, not an average of percentiles.
      std::uint64_t llost = 0, behind = 0;
      double got = 0;
      Percentiles worst;
      for (auto& l : p.lat_phases) {
        llost += l.lost;
        behind += l.behind;
        got += l.deliveries_per_s;
        if (l.lat.p99 > worst.p99) worst = l.lat;
      }
      put_latency(o, worst);  // with several rounds: the round with the worst p99
      o["latency_achieved_rate"] = std::llround(got / double(p.lat_phases.size()));
      o["latency_lost"] = llost;
      o["latency_behind"] = behind;
    }
    o["notes"] = notes_json(p.notes);
    emit(b, std::move(o));
  }
}

// For a target that mints tokens, both the full flow (token + upgrade + subscribe: record
// "connect") and the plain one ("connect-plain"); a target without tokens runs the plain flow,
// recorded under both names, so that each ratio row compares what it says. Each runs once per
// --connect-per-topic K (records connect-K, connect-plain-K; K = 1 keeps the bare names).
//
// Server CPU is read over two windows: connect (first token request to the last `subscribed`,
// plus the presence joins it caused, until no frame arrives for 0.3 s) and disconnect (every
// client closes normally; until the server's open fds are back at their count before the
// connect, plus 0.3 s for deferred work such as last-seen rows).
void run_connect(Bench& b) {
  const std::size_t n = static_cast<std::size_t>(b.opt.connect_clients);
  struct Acc {
    std::vector<double> rates, cpu_us, disconnect_us, total_us, client_cpu_us, redis_us, teardown_s;
    std::vector<std::int64_t> setup;
    std::uint64_t failures = 0;
    int fds_left = 0;
    std::vector<std::string> notes;
  };
  using Key = std::tuple<std::string, bool, int>;  // target, token flow, clients per topic
  std::map<Key, Acc> acc;
  for (int r = 0; r < b.opt.rounds; ++r) {
    for (const Target* tp : order_for_round(b, r)) {
      const Target& t = *tp;
      std::vector<bool> variants;
      if (t.tokens && !b.opt.no_token) variants.push_back(true);
      variants.push_back(false);
      for (int per_topic : b.opt.connect_per_topic) {
        const std::size_t topics =
            std::max<std::size_t>(1, n / static_cast<std::size_t>(per_topic));
        for (bool tokens : variants) {
          auto& a = acc[{t.name, tokens, per_topic}];
          std::cerr << "[connect] " << t.name << ": " << n << " clients, " << per_topic
                    << " per topic, " << (tokens ? "token + " : "") << "upgrade + subscribe, "
                    << b.opt.connect_concurrency << " in flight; then all close\n";
          take_samples(b);
          sleep_s(0.2);
          const int fds0 = count_fds(t.pid);
          const auto c0 = cpu_snapshot(t);
          auto f = connect_fleet(
              b, t, n, b.opt.connect_concurrency, tokens, true,
              [&](std::size_t i) {
                ClientPlan p;
                p.user = (tokens ? "conn" : "plain") + std::to_string(per_topic) + "-" +
                         std::to_string(i);
                p.topic =
                    "channel:conn" + std::to_string(per_topic) + "-" + std::to_string(i % topics);
                p.token = tokens;
                p.buffer = 4096;
                return p;
              },
              60);
          quiesce(b, 0.3, 10);  // the presence joins still on their way belong to the connects
          const auto c1 = cpu_snapshot(t);
          auto s = take_samples(b);
          a.setup.insert(a.setup.end(), s.begin(), s.end());
          const double rate = f.seconds > 0 ? double(f.ready) / f.seconds : 0;
          std::cerr << "  " << f.ready << " ready, " << f.failed << " failed in "
                    << fixed(f.seconds, 2) << " s: " << human(rate) << " connections/s\n";
          for (auto& note : f.notes) std::cerr << "  note: " << note << "\n";
          a.notes.insert(a.notes.end(), f.notes.begin(), f.notes.end());
          a.rates.push_back(rate);
          a.failures += f.failed;
          const auto td = teardown_fleet(b, t, fds0, f.ready, b.opt.teardown_max_s);
          const auto c2 = cpu_snapshot(t);
          a.teardown_s.push_back(td.seconds);
          a.fds_left = std::max(a.fds_left, td.fds_left);
          if (td.fds_left > 0)
            a.notes.push_back(std::to_string(td.fds_left) +
                              " server fds still open after the teardown wait");
          const auto up = cpu_per_op(c0, c1, double(f.ready)),
                     down = cpu_per_op(c1, c2, double(f.ready)),
                     both = cpu_per_op(c0, c2, double(f.ready));
          if (up.server >= 0 && down.server >= 0) {
            a.cpu_us.push_back(up.server);
            a.disconnect_us.push_back(down.server);
            a.total_us.push_back(both.server);
          }
          if (both.redis >= 0) a.redis_us.push_back(both.redis);
          // The load generator's own cost: on a shared machine it bounds what any server can reach.
          if (f.ready > 0) a.client_cpu_us.push_back(up.client);
          std::cerr << "  closed in " << fixed(td.seconds, 2) << " s (" << td.gone
                    << " close handshakes ended)";
          if (up.server >= 0)
            std::cerr << "; server CPU per connection: connect " << fixed(up.server, 0)
                      << " µs + disconnect " << fixed(down.server, 0)
                      << " µs = " << fixed(both.server, 0) << " µs";
          if (both.redis >= 0) std::cerr << "; redis " << fixed(both.redis, 0) << " µs";
          std::cerr << "; client " << fixed(up.client, 0) << " µs\n";
          sleep_s(1);
        }
      }
    }
  }
  for (auto& t : b.opt.targets) {
    for (int per_topic : b.opt.connect_per_topic) {
      const std::string suffix = per_topic == 1 ? "" : "-" + std::to_string(per_topic);
      for (bool tokens : {true, false}) {
        auto it = acc.find({t.name, tokens, per_topic});
        if (it == acc.end()) continue;
        auto& a = it->second;
        std::vector<std::string> names;
        if (tokens || t.socketio)  // Socket.IO targets have one flow: one row
          names = {"connect" + suffix};
        else if (acc.count({t.name, true, per_topic}))
          names = {"connect-plain" + suffix};
        else
          names = {"connect" + suffix, "connect-plain" + suffix};
        for (auto& name : names) {
          json::object o = base_record(b, name, t);
          o["clients"] = n;
          o["per_topic"] = per_topic;
          o["concurrency"] = b.opt.connect_concurrency;
          o["token_fetch"] = tokens;
          o["connections_per_s"] = std::llround(median(a.rates));
          json::array rr;
          for (double x : a.rates) rr.emplace_back(std::llround(x));
          o["connections_per_s_rounds"] = rr;
          o["failures"] = a.failures;
          if (!a.cpu_us.empty()) {
            o["server_cpu_us_per_connection"] = std::llround(median(a.cpu_us));
            o["server_cpu_us_per_disconnect"] = std::llround(median(a.disconnect_us));
            o["server_cpu_us_per_connection_total"] = std::llround(median(a.total_us));
          }
          if (!a.redis_us.empty())
            o["redis_cpu_us_per_connection_total"] = std::llround(median(a.redis_us));
          if (!a.client_cpu_us.empty())
            o["client_cpu_us_per_connection"] = std::llround(median(a.client_cpu_us));
          o["teardown_s"] = double(std::llround(median(a.teardown_s) * 100)) / 100;
          o["teardown_fds_left"] = a.fds_left;
          auto setup = a.setup;
          auto p = percentiles(setup);
          put_latency(o, p);  // per-client setup time
          o["notes"] = notes_json(a.notes);
          emit(b, std::move(o));
        }
      }
    }
  }
}

// Reconnect storm: every client of channels from 10 to 5,000 members reset at once (a node
// restart, a proxy reset), then all reconnect with a fresh token + subscribe + presence status,
// --storm-concurrency in flight. Server CPU from the reset to the last client back plus the
// settle (no frame for 0.5 s); presence events received over the same window, per channel size.
void run_storm(Bench& b) {
  struct Bucket {
    int channels, members;
    std::size_t first;  // first client index of the bucket
  };
  std::vector<Bucket> buckets;
  std::size_t n = 0;
  for (auto [count, members] : b.opt.storm_channels) {
    buckets.push_back({count, members, n});
    n += static_cast<std::size_t>(count) * static_cast<std::size_t>(members);
  }
  auto bucket_of = [&](std::size_t client) {
    std::size_t k = 0;
    while (k + 1 < buckets.size() && client >= buckets[k + 1].first) ++k;
    return k;
  };
  // Launch order: a fixed shuffle, so that the channels' reconnects interleave as in a real storm.
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
  std::string layout;
  for (auto& bk : buckets)
    layout += (layout.empty() ? "" : " + ") + std::to_string(bk.channels) + "x" +
              std::to_string(bk.members);

  for (int r = 0; r < b.opt.rounds; ++r) {
    for (const Target* tp : order_for_round(b, r)) {
      const Target& t = *tp;
      const bool tokens = t.tokens && !b.opt.no_token;
      auto plan_of = [&](std::size_t client) {
        const std::size_t k = bucket_of(client);
        const std::size_t in_bucket = client - buckets[k].first;
        ClientPlan p;
        p.user = "storm" + std::to_string(client);
        p.topic = "channel:storm" + std::to_string(buckets[k].members) + "-" +
                  std::to_string(in_bucket % static_cast<std::size_t>(buckets[k].channels));
        p.token = tokens;
        p.buffer = 16 * 1024;
        p.bucket = static_cast<int>(k);
        p.presence_status = tokens;  // the reference has no presence
        return p;
      };
      std::cerr << "[storm] " << t.name << ": " << n << " clients in " << layout << " channels, "
                << (tokens ? "token + subscribe + presence status" : "plain upgrade + subscribe")
                << "\n";
      std::vector<std::uint64_t> setup_changed(buckets.size()), setup_diff(buckets.size());
      for (std::size_t k = 0; k < buckets.size(); ++k) {
        setup_changed[k] = b.presence_sum(&Worker::presence_changed, k);
        setup_diff[k] = b.presence_sum(&Worker::presence_diff, k);
      }
      auto f = connect_fleet(
          b, t, n, b.opt.setup_concurrency, tokens, false,
          [&](std::size_t i) { return plan_of(order[i]); }, 300);
      std::cerr << "  connected: " << f.ready << " ready, " << f.failed << " failed in "
                << fixed(f.seconds, 2) << " s\n";
      std::vector<std::string> notes = f.notes;
      quiesce(b, 0.5, 180);  // the joins' presence events
      run_all(b, [](Worker& w) { w.failed_indexes.clear(); });
      std::uint64_t setup_presence = 0;
      std::vector<std::uint64_t> changed0(buckets.size()), diff0(buckets.size());
      for (std::size_t k = 0; k < buckets.size(); ++k) {
        changed0[k] = b.presence_sum(&Worker::presence_changed, k);
        diff0[k] = b.presence_sum(&Worker::presence_diff, k);
        setup_presence += changed0[k] - setup_changed[k] + diff0[k] - setup_diff[k];
      }
      const std::uint64_t closed_before = b.sum(&Counters::closed);
      if (f.ready < n)
        notes.push_back("setup: only " + std::to_string(f.ready) + " of " + std::to_string(n) +
                        " connected");

      // The storm: reset every socket (SO_LINGER 0), then all reconnect at once.
      take_samples(b);
      const auto c0 = cpu_snapshot(t);
      close_fleet(b);
      auto back = connect_fleet(
          b, t, n, b.opt.storm_concurrency, tokens, true,
          [&](std::size_t i) { return plan_of(order[i]); }, 300);
      // Reconnects refused during the storm (e.g. the server still holding the old sockets)
      // retry, as a client's backoff would: up to 3 more passes, 0.5 s apart.
      std::uint64_t ready = back.ready, retried = 0;
      std::vector<std::size_t> launched(order);  // the pass's launch index -> client
      for (int pass = 0; pass < 3 && ready < n; ++pass) {
        std::vector<std::size_t> again;
        run_all(b, [&](Worker& w) {
          for (std::size_t i : w.failed_indexes) again.push_back(launched[i]);
          w.failed_indexes.clear();
        });
        if (again.empty()) break;
        retried += again.size();
        launched = again;
        sleep_s(0.5);
        auto more = connect_fleet(
            b, t, launched.size(), b.opt.storm_concurrency, tokens, true,
            [&](std::size_t i) { return plan_of(launched[i]); }, 120);
        ready += more.ready;
        notes.insert(notes.end(), more.notes.begin(), more.notes.end());
      }
      std::int64_t last = c0.at_ns;
      for (auto& w : b.workers) last = std::max(last, w->c.last_done_ns.load());
      const double all_back_s = double(last - c0.at_ns) / 1e9;
      quiesce(b, 0.5, 180);  // the presence events the reconnects caused
      const auto c1 = cpu_snapshot(t);
      const double window_s = double(c1.at_ns - c0.at_ns) / 1e9;
      auto setup_times = take_samples(b);
      const auto lat = percentiles(setup_times);
      const auto cpu = cpu_per_op(c0, c1, double(ready));
      notes.insert(notes.end(), back.notes.begin(), back.notes.end());
      const std::uint64_t closed = b.sum(&Counters::closed) - closed_before;

      json::object o = base_record(b, "storm", t);
      o["clients"] = n;
      o["channels"] = layout;
      o["concurrency"] = b.opt.storm_concurrency;
      o["token_fetch"] = tokens;
      o["presence_status"] = tokens;
      o["setup_ready"] = f.ready;
      o["setup_presence_frames"] = setup_presence;
      o["reconnected"] = ready;
      o["reconnect_failures"] = n - std::min<std::uint64_t>(n, ready);
      o["retried"] = retried;
      o["closed_by_server"] = closed;
      o["all_back_s"] = double(std::llround(all_back_s * 1000)) / 1000;
      o["reconnects_per_s"] = all_back_s > 0 ? std::llround(double(ready) / all_back_s) : 0;
      o["window_s"] = double(std::llround(window_s * 100)) / 100;
      if (cpu.server >= 0) {
        o["server_cpu_us_per_reconnect"] = std::llround(cpu.server);
        o["server_cores"] =
            double(std::llround(cpu.server * double(ready) / 1e6 / window_s * 100)) / 100;
      }
      if (cpu.redis >= 0) o["redis_cpu_us_per_reconnect"] = std::llround(cpu.redis);
      o["client_cpu_us_per_reconnect"] = std::llround(cpu.client);
      put_latency(o, lat);  // per-client reconnect time, from its launch
      std::uint64_t total_changed = 0, total_diff = 0;
      json::array per;
      std::cerr << "  storm: " << ready << " of " << n << " back in " << fixed(all_back_s, 2)
                << " s";
      if (cpu.server >= 0)
        std::cerr << ", server " << fixed(cpu.server, 0) << " µs CPU per reconnect";
      if (cpu.redis >= 0) std::cerr << ", redis " << fixed(cpu.redis, 0) << " µs";
      std::cerr << " (window " << fixed(window_s, 2) << " s)\n";
      for (std::size_t k = 0; k < buckets.size(); ++k) {
        const std::uint64_t changed = b.presence_sum(&Worker::presence_changed, k) - changed0[k];
        const std::uint64_t diff = b.presence_sum(&Worker::presence_diff, k) - diff0[k];
        total_changed += changed;
        total_diff += diff;
        const double clients = double(buckets[k].channels) * buckets[k].members;
        json::object e;
        e["members"] = buckets[k].members;
        e["channels"] = buckets[k].channels;
        e["clients"] = static_cast<std::int64_t>(clients);
        e["presence_changed"] = changed;
        e["presence_diff"] = diff;
        e["presence_frames_per_reconnect"] =
            double(std::llround(double(changed + diff) / clients * 100)) / 100;
        per.push_back(std::move(e));
        std::cerr << "    " << buckets[k].channels << " x " << buckets[k].members
                  << " members: " << changed << " presence.changed + " << diff
                  << " presence.diff = " << fixed(double(changed + diff) / clients, 1)
                  << " per reconnect\n";
      }
      o["presence_changed"] = total_changed;
      o["presence_diff"] = total_diff;
      o["presence_frames_per_reconnect"] =
          ready > 0
              ? double(std::llround(double(total_changed + total_diff) / double(ready) * 100)) / 100
              : 0.0;
      o["by_channel_size"] = per;
      o["notes"] = notes_json(notes);
      emit(b, std::move(o));
      close_fleet(b);
      sleep_s(2);
    }
  }
}

void run_idle(Bench& b) {
  const std::size_t n = static_cast<std::size_t>(b.opt.idle_connections);
  const std::size_t topics = static_cast<std::size_t>(b.opt.idle_topics);
  for (const Target* tp : order_for_round(b, 0)) {
    const Target& t = *tp;
    if (t.pid <= 0 || read_rss_kib(t.pid) < 0) {
      std::cerr << "[idle] " << t.name << ": no readable server pid (--pid " << t.name << "=PID); skipped\n";
      continue;
    }
    std::vector<double> per_conn;
    long before = 0, after = 0, released = 0;
    std::uint64_t ready = 0, failed = 0;
    std::vector<std::string> notes;
    for (int r = 0; r < b.opt.rounds; ++r) {
      sleep_s(0.5);
      const long start = read_rss_kib(t.pid);
      if (r == 0) before = start;
      std::cerr << "[idle] " << t.name << ": RSS " << start << " KiB; connecting " << n << " idle subscribers\n";
      auto f = connect_fleet(b, t, n, b.opt.setup_concurrency, false, false,
                             [&](std::size_t i) {
                               ClientPlan p;
                               p.user = "idle" + std::to_string(i);
                               p.topic = "channel:idle-" + std::to_string(i % topics);
                               p.buffer = 4096;
                               return p;
                             },
                             90);
      for (auto& note : f.notes) std::cerr << "  note: " << note << "\n";
      notes.insert(notes.end(), f.notes.begin(), f.notes.end());
      quiesce(b, 0.5, 10);
      sleep_s(2);
      const long end = read_rss_kib(t.pid);
      if (r == 0) {
        after = end;
        ready = f.ready;
      }
      failed += f.failed;
      const double k = f.ready > 0 ? double(end - start) / double(f.ready) : 0;
      per_conn.push_back(k);
      std::cerr << "  " << f.ready << " ready, " << f.failed << " failed; RSS " << end << " KiB: " << fixed(k, 2)
                << " KiB per connection\n";
      close_fleet(b);
      sleep_s(2);
      const long left = read_rss_kib(t.pid);
      if (r == 0) released = left;
      std::cerr << "  after closing: RSS " << left << " KiB\n";
    }
    json::object o = base_record(b, "idle", t);
    o["connections"] = ready;
    o["topics"] = b.opt.idle_topics;
    o["failures"] = failed;
    o["rss_before_kib"] = before;
    o["rss_after_kib"] = after;
    o["rss_after_close_kib"] = released;
    // Only the first round measures a fresh process: later ones reuse the memory the first
    // round's connections gave back to the allocator, and would report less than a connection
    // costs. They are kept for what they show (memory given back and taken again).
    o["kib_per_connection"] = per_conn.empty() ? 0.0 : double(std::llround(per_conn[0] * 100)) / 100;
    if (per_conn.size() > 1) {
      json::array rounds;
      for (double k : per_conn) rounds.emplace_back(double(std::llround(k * 100)) / 100);
      o["kib_per_connection_rounds"] = rounds;
      notes.push_back("first round reported (a fresh process); later rounds reuse freed memory");
    }
    o["notes"] = notes_json(notes);
    emit(b, std::move(o));
  }
}

void run_subscribe(Bench& b) {
  const std::size_t n = static_cast<std::size_t>(b.opt.subscribe_clients);
  struct Acc {
    std::vector<double> rates, cpu_us;
    std::uint64_t failures = 0;
    std::vector<std::string> notes;
  };
  std::map<std::string, Acc> acc;
  for (int r = 0; r < b.opt.rounds; ++r) {
    for (const Target* tp : order_for_round(b, r)) {
      const Target& t = *tp;
      auto& a = acc[t.name];
      std::cerr << "[subscribe] " << t.name << ": " << n << " clients cycling over " << b.opt.subscribe_topics
                << " topics each\n";
      auto f = connect_fleet(b, t, n, b.opt.setup_concurrency, false, false,
                             [&](std::size_t i) {
                               ClientPlan p;
                               p.user = "sub" + std::to_string(i);
                               p.topic = "channel:sub-" + std::to_string(i);
                               p.buffer = 4096;
                               p.churn_topics = b.opt.subscribe_topics;
                               return p;
                             },
                             60);
      a.failures += f.failed;
      for (auto& note : f.notes) a.notes.push_back(note);
      quiesce(b, 0.3, 5);
      // Warm-up: every client's topics once (a checked server asks its backend here), then measure.
      b.churning = true;
      run_all(b, [](Worker& w) {
        for (auto& c : w.clients) c->start_churn();
      });
      sleep_s(std::max(b.opt.warmup, 2.0));
      const auto subs0 = b.sum(&Counters::subscribes);
      const double cpu0 = process_cpu_seconds(t.pid);
      const std::int64_t start = now_ns();
      sleep_s(b.opt.duration);
      const auto subs1 = b.sum(&Counters::subscribes);
      const double cpu1 = process_cpu_seconds(t.pid);
      const double seconds = seconds_since(start);
      b.churning = false;
      const double rate = double(subs1 - subs0) / seconds;
      a.rates.push_back(rate);
      if (cpu0 >= 0 && cpu1 >= 0 && subs1 > subs0) a.cpu_us.push_back((cpu1 - cpu0) / double(subs1 - subs0) * 1e6);
      std::cerr << "  " << human(rate) << " subscribes/s";
      if (!a.cpu_us.empty()) std::cerr << ", server CPU " << fixed(a.cpu_us.back(), 1) << " µs per subscribe";
      std::cerr << "\n";
      for (auto& note : take_notes(b)) a.notes.push_back(note);
      sleep_s(0.5);
      quiesce(b, 0.3, 5);
      close_fleet(b);
      sleep_s(1);
    }
  }
  for (auto& t : b.opt.targets) {
    auto it = acc.find(t.name);
    if (it == acc.end()) continue;
    auto& a = it->second;
    json::object o = base_record(b, "subscribe", t);
    o["clients"] = n;
    o["topics_per_client"] = b.opt.subscribe_topics;
    o["subscribes_per_s"] = std::llround(median(a.rates));
    json::array rr;
    for (double x : a.rates) rr.emplace_back(std::llround(x));
    o["subscribes_per_s_rounds"] = rr;
    if (!a.cpu_us.empty()) o["server_cpu_us_per_subscribe"] = double(std::llround(median(a.cpu_us) * 10)) / 10;
    o["failures"] = a.failures;
    o["notes"] = notes_json(a.notes);
    emit(b, std::move(o));
  }
}

// Is this a server that mints connection tokens? (Ours does; the reference does not.)
void probe_target(Bench& b, Target& t) {
  if (t.socketio) {
    std::cerr << "target " << t.name << " (" << t.host << ":" << t.port << "): Socket.IO clients"
              << (t.pid ? ", pid " + std::to_string(t.pid) : "") << "\n";
    return;
  }
  net::io_context io;
  auto pipe = std::make_shared<HttpPipe>(b, io, t.endpoint);
  pipe->start();
  int status = -1;
  std::string body;
  pipe->request(http_post(t, "/realtime/token", R"({"user_id":"rt-bench-probe"})", b.opt.api_key),
                [&](int s, std::string_view bd) {
                  status = s;
                  body = std::string(bd);
                });
  io.run_for(std::chrono::seconds(3));
  pipe->close();
  t.tokens = status == 200 && !json_field(body, "token").empty();
  std::cerr << "target " << t.name << " (" << t.host << ":" << t.port << "): "
            << (status < 0 ? "no answer" : status == 0 ? "connection failed" : "token endpoint HTTP " + std::to_string(status))
            << (t.tokens ? " -> token flow" : " -> plain upgrade") << (t.pid ? ", pid " + std::to_string(t.pid) : "") << "\n";
}

// ---------------------------------------------------------------------------------------------
// Markdown table (from records; also usable on a JSONL file with --table)

double num(const json::object& o, const char* key, double dflt = 0) {
  auto* v = o.if_contains(key);
  if (!v) return dflt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return double(v->get_int64());
  if (v->is_uint64()) return double(v->get_uint64());
  return dflt;
}
std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string ms(const json::object& o, const char* key) {
  if (!o.if_contains(key) || num(o, "latency_samples") <= 0) return "";
  return fixed(num(o, key) / 1000.0, 2);
}

bool is_connect(const std::string& scenario) { return scenario.rfind("connect", 0) == 0; }

// The headline figure of a record, and whether higher is better.
std::pair<double, bool> headline(const json::object& o) {
  const std::string s = str(o, "scenario");
  if (is_connect(s)) return {num(o, "connections_per_s"), true};
  if (s == "idle") return {num(o, "kib_per_connection"), false};
  if (s == "subscribe") return {num(o, "subscribes_per_s"), true};
  if (s == "storm") return {num(o, "reconnects_per_s"), true};
  return {num(o, "deliveries_per_s"), true};
}

// Server CPU per operation (µs) and what the operation is; {-1, ""} when the record has none.
// The ratio rows compare this: what a server costs per unit of work, which a machine shared
// with the load generator distorts far less than a rate.
std::pair<double, std::string> cpu_headline(const json::object& o) {
  const std::string s = str(o, "scenario");
  auto get = [&](const char* key, const char* what) -> std::pair<double, std::string> {
    if (!o.if_contains(key)) return {-1, ""};
    return {num(o, key), what};
  };
  if (s == "fanout" || s == "chat") return get("server_cpu_us_per_delivery", "CPU per delivery");
  if (is_connect(s)) {
    if (o.if_contains("server_cpu_us_per_connection_total"))
      return get("server_cpu_us_per_connection_total", "CPU per connect + disconnect");
    return get("server_cpu_us_per_connection", "CPU per connection");
  }
  if (s == "subscribe") return get("server_cpu_us_per_subscribe", "CPU per subscribe");
  if (s == "storm") return get("server_cpu_us_per_reconnect", "CPU per reconnect");
  return {-1, ""};
}

std::string scenario_label(const json::object& o) {
  const std::string s = str(o, "scenario");
  if (s == "fanout") return "fanout " + human(num(o, "connections")) + " subs/1 topic";
  if (s == "chat") return "chat " + human(num(o, "connections")) + " conns/" + human(num(o, "topics")) + " topics";
  if (is_connect(s)) {
    const std::string base = s.rfind("connect-plain", 0) == 0 ? "connect-plain" : "connect";
    return base + " " + human(num(o, "clients")) + " clients, " + human(num(o, "per_topic", 5)) +
           "/topic";
  }
  if (s == "storm")
    return "storm " + human(num(o, "clients")) + " clients (" + str(o, "channels") + ")";
  if (s == "idle") return "idle " + human(num(o, "connections")) + " conns";
  if (s == "subscribe") return "subscribe " + human(num(o, "clients")) + " clients";
  return s;
}

void print_table(const std::vector<json::object>& recs, std::vector<std::pair<std::string, std::string>> ratios, std::ostream& out) {
  if (recs.empty()) return;
  out << "\nRatio rows (↳): server CPU per operation, A / B (**lower is better**), read from "
         "/proc/PID/stat over the "
         "measured window; the rate ratio beside it is context (higher is better).\n"
      << "\n| scenario | target | result | p50 ms | p90 ms | p99 ms | max ms | notes |\n"
      << "|---|---|---|---|---|---|---|---|\n";
  std::vector<std::string> scen_order, target_order;
  for (auto& o : recs) {
    if (std::find(scen_order.begin(), scen_order.end(), str(o, "scenario")) == scen_order.end()) scen_order.push_back(str(o, "scenario"));
    if (std::find(target_order.begin(), target_order.end(), str(o, "target")) == target_order.end()) target_order.push_back(str(o, "target"));
  }
  if (ratios.empty() && target_order.size() > 1)
    for (std::size_t i = 1; i < target_order.size(); ++i) ratios.emplace_back(target_order[0], target_order[i]);
  for (auto& s : scen_order) {
    std::map<std::string, const json::object*> by_target;
    for (auto& o : recs) {
      if (str(o, "scenario") != s) continue;
      by_target[str(o, "target")] = &o;  // the last record wins
      std::string result, notes;
      if (s == "fanout" || s == "chat") {
        result = human(num(o, "deliveries_per_s")) + " deliveries/s";
        if (o.if_contains("server_cpu_us_per_delivery"))
          result += " (" + fixed(num(o, "server_cores"), 2) + " cores, " + fixed(num(o, "server_cpu_us_per_delivery"), 2) + " µs CPU each)";
        if (o.if_contains("wire_bytes_per_delivery"))
          result += ", " + fixed(num(o, "wire_bytes_per_delivery"), 0) + " B on the wire each" +
                    (o.if_contains("permessage_deflate") ? " (permessage-deflate)" : "");
        if (o.if_contains("redis_cores"))
          result += "; " + human(num(o, "published_msgs_per_s")) + " published/s, redis " + fixed(num(o, "redis_cores"), 2) +
                    " cores over " + fixed(num(o, "redis_servers"), 0) + " (busiest " + fixed(num(o, "redis_busiest_cores"), 2) +
                    "), " + fixed(num(o, "redis_cpu_us_per_published"), 2) + " µs each: one core at " +
                    human(num(o, "redis_bound_published_per_s")) + " published/s";
        const std::string base = str(o, "latency_base");
        notes = "latency at " + human(num(o, "latency_rate")) + " deliveries/s (" +
                (base == "fixed" ? std::string("fixed") : fixed(100 * (o.if_contains("latency_fraction") ? num(o, "latency_fraction") : 0.5), 0) + "% of " + (base.empty() ? std::string("slowest") : base) + "'s max") +
                "), batches of " +
                std::to_string(int(num(o, "latency_batch"))) + "; max-rate batches of " + std::to_string(int(num(o, "batch")));
        if (str(o, "publish_via") == "redis") notes += "; published by Redis PUBLISH";
        if (num(o, "lost") + num(o, "latency_lost") > 0) notes += "; lost " + human(num(o, "lost") + num(o, "latency_lost"));
        if (num(o, "closed") > 0) notes += "; closed " + human(num(o, "closed"));
        if (num(o, "setup_failures") > 0) notes += "; setup failures " + human(num(o, "setup_failures"));
        if (num(o, "latency_behind") > 0)
          notes += "; **latency rate not sustained** (" + human(num(o, "latency_behind")) + " batches skipped)";
      } else if (is_connect(s)) {
        result = human(num(o, "connections_per_s")) + " conn/s";
        if (o.if_contains("server_cpu_us_per_connection_total")) {
          result += "; server CPU per connection: connect " +
                    fixed(num(o, "server_cpu_us_per_connection"), 0) + " + disconnect " +
                    fixed(num(o, "server_cpu_us_per_disconnect"), 0) + " = **" +
                    fixed(num(o, "server_cpu_us_per_connection_total"), 0) + " µs**";
          if (o.if_contains("redis_cpu_us_per_connection_total"))
            result +=
                " (redis " + fixed(num(o, "redis_cpu_us_per_connection_total"), 0) + " µs more)";
          if (o.if_contains("client_cpu_us_per_connection"))
            result += "; load generator " + fixed(num(o, "client_cpu_us_per_connection"), 0) + " µs";
        } else if (o.if_contains("server_cpu_us_per_connection")) {
          result += " (" + fixed(num(o, "server_cpu_us_per_connection"), 0) + " µs CPU each)";
        }
        auto* tf = o.if_contains("token_fetch");
        notes = std::string(tf && tf->is_bool() && tf->get_bool() ? "token + " : "no token; ") + "upgrade + subscribe, " +
                std::to_string(int(num(o, "concurrency"))) + " in flight; failures " + human(num(o, "failures")) + "; latency = per-client setup";
        if (o.if_contains("teardown_s"))
          notes += "; all closed (close frame + FIN) in " + fixed(num(o, "teardown_s"), 2) + " s" +
                   (num(o, "teardown_fds_left") > 0
                        ? ", **" + fixed(num(o, "teardown_fds_left"), 0) + " server fds left**"
                        : "");
      } else if (s == "storm") {
        result = fixed(num(o, "reconnected"), 0) + " back in " + fixed(num(o, "all_back_s"), 2) +
                 " s (" + human(num(o, "reconnects_per_s")) + "/s)";
        if (o.if_contains("server_cpu_us_per_reconnect"))
          result += "; server **" + fixed(num(o, "server_cpu_us_per_reconnect"), 0) +
                    " µs CPU per reconnect** (" + fixed(num(o, "server_cores"), 2) +
                    " cores over " + fixed(num(o, "window_s"), 1) + " s)";
        if (o.if_contains("redis_cpu_us_per_reconnect"))
          result += ", redis " + fixed(num(o, "redis_cpu_us_per_reconnect"), 0) + " µs";
        if (o.if_contains("client_cpu_us_per_reconnect"))
          result += "; load generator " + fixed(num(o, "client_cpu_us_per_reconnect"), 0) + " µs";
        result += "; presence frames " +
                  human(num(o, "presence_changed") + num(o, "presence_diff")) + " (" +
                  fixed(num(o, "presence_frames_per_reconnect"), 1) + " per reconnect)";
        auto* tf = o.if_contains("token_fetch");
        notes = std::string(tf && tf->is_bool() && tf->get_bool()
                                ? "token + subscribe + presence status"
                                : "no token, no presence") +
                ", " + std::to_string(int(num(o, "concurrency"))) +
                " in flight; per reconnect by channel size:";
        if (auto* per = o.if_contains("by_channel_size"); per && per->is_array()) {
          for (auto& e : per->as_array()) {
            if (!e.is_object()) continue;
            notes += " " + fixed(num(e.as_object(), "members"), 0) + ": " +
                     fixed(num(e.as_object(), "presence_frames_per_reconnect"), 1) + ";";
          }
        }
        notes += " failures " + human(num(o, "reconnect_failures")) + " (retried " +
                 human(num(o, "retried")) + ")";
        if (num(o, "closed_by_server") > 0)
          notes += "; closed by the server " + human(num(o, "closed_by_server"));
      } else if (s == "subscribe") {
        result = human(num(o, "subscribes_per_s")) + " subscribes/s";
        if (o.if_contains("server_cpu_us_per_subscribe"))
          result += " (" + fixed(num(o, "server_cpu_us_per_subscribe"), 1) + " µs CPU each)";
        notes = "subscribe + unsubscribe cycling over " + std::to_string(int(num(o, "topics_per_client"))) +
                " topics per client; failures " + human(num(o, "failures"));
      } else if (s == "idle") {
        result = fixed(num(o, "kib_per_connection"), 2) + " KiB/conn";
        notes = "RSS " + fixed(num(o, "rss_before_kib") / 1024, 1) + " → " + fixed(num(o, "rss_after_kib") / 1024, 1) +
                " MiB (" + fixed(num(o, "rss_after_close_kib") / 1024, 1) + " after close); failures " + human(num(o, "failures"));
      }
      out << "| " << scenario_label(o) << " | " << str(o, "target") << " | " << result << " | " << ms(o, "p50_us") << " | "
          << ms(o, "p90_us") << " | " << ms(o, "p99_us") << " | " << ms(o, "max_us") << " | " << notes << " |\n";
    }
    for (auto& [a, bname] : ratios) {
      auto ia = by_target.find(a), ib = by_target.find(bname);
      if (ia == by_target.end() || ib == by_target.end()) continue;
      auto [va, higher] = headline(*ia->second);
      auto [vb, _] = headline(*ib->second);
      const std::string rate = vb > 0 ? fixed(va / vb, 2) + "×" : "n/a";
      auto [ca, what] = cpu_headline(*ia->second);
      auto [cb, what_b] = cpu_headline(*ib->second);
      std::string result, notes;
      if (ca > 0 && cb > 0 && what == what_b) {
        result = "**CPU " + fixed(ca / cb, 2) + "×** (rate " + rate + ")";
        notes = what + ": lower is better";
      } else {
        result = "**" + rate + "**";
        notes = higher ? "higher is better" : "lower is better";
      }
      std::string p99;
      const double pa = num(*ia->second, "p99_us", -1), pb = num(*ib->second, "p99_us", -1);
      if (pa > 0 && pb > 0) p99 = fixed(pa / pb, 2) + "×";
      out << "| ↳ ratio | " << a << " / " << bname << " | " << result << " |  |  | " << p99
          << " |  | " << notes << (p99.empty() ? "" : "; p99 ratio: lower is better") << " |\n";
    }
  }
}

int table_mode(const Options& opt) {
  std::ifstream in(opt.table_file);
  if (!in) {
    std::cerr << "rt-bench: cannot read " << opt.table_file << "\n";
    return 1;
  }
  std::vector<json::object> all;
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec && v.is_object()) all.push_back(v.as_object());
  }
  const std::string run = opt.run_id;  // --run-id, else the last run in the file (main)
  std::vector<json::object> recs;
  for (auto& o : all)
    if (str(o, "run") == run) recs.push_back(o);
  if (recs.empty()) {
    std::cerr << "rt-bench: no records of run " << run << " in " << opt.table_file << "\n";
    return 1;
  }
  print_table(recs, opt.ratios, std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool run_given = false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--run-id") run_given = true;
  Options opt = parse_options(argc, argv);
  if (!opt.table_file.empty()) {
    if (!run_given) {
      // The last run in the file.
      std::ifstream in(opt.table_file);
      std::string line, last;
      while (std::getline(in, line)) {
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (!ec && v.is_object() && v.as_object().if_contains("run")) last = str(v.as_object(), "run");
      }
      opt.run_id = last;
    }
    return table_mode(opt);
  }

  // Watchdog: whatever hangs, the process ends.
  std::thread([limit = opt.max_seconds] {
    std::this_thread::sleep_for(std::chrono::duration<double>(limit));
    std::cerr << "rt-bench: watchdog: still running after " << limit << " s, exiting\n";
    std::_Exit(3);
  }).detach();

  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  std::size_t biggest = 0;
  for (auto& s : opt.scenarios) {
    if (s == "fanout") biggest = std::max<std::size_t>(biggest, opt.subscribers);
    if (s == "chat") biggest = std::max<std::size_t>(biggest, opt.chat_connections);
    if (s == "connect") biggest = std::max<std::size_t>(biggest, opt.connect_clients);
    if (s == "idle") biggest = std::max<std::size_t>(biggest, opt.idle_connections);
    if (s == "subscribe") biggest = std::max<std::size_t>(biggest, opt.subscribe_clients);
    if (s == "storm") {
      std::size_t storm = 0;
      for (auto [count, members] : opt.storm_channels)
        storm += static_cast<std::size_t>(count) * static_cast<std::size_t>(members);
      biggest = std::max(biggest, storm);
    }
  }
  const std::size_t sockets = biggest + static_cast<std::size_t>(opt.pipes) + 4 * static_cast<std::size_t>(opt.threads) + 32;
  if (sockets > 19000 || sockets + 16 > rl.rlim_cur) {
    std::cerr << "rt-bench: a scenario needs ~" << sockets << " sockets; the limit is min(19000, RLIMIT_NOFILE " << rl.rlim_cur << ")\n";
    return 2;
  }

  Bench b;
  b.opt = opt;
  for (int i = 0; i < opt.threads; ++i) b.workers.push_back(std::make_unique<Worker>(b, i));
  for (auto& w : b.workers) {
    w->schedule_pings();
    w->thread = std::thread([w = w.get(), poll_us = opt.poll_us] {
      if (poll_us == 0) {
        w->io.run();
        return;
      }
      // Polling instead of blocking: a server's send to a client that sleeps in epoll_wait has
      // to wake it (and on a shared 2-core machine is often preempted by it), a cost that remote
      // clients never put on a server. Sleeping between polls lets frames accumulate instead.
      const auto pause = std::chrono::microseconds(poll_us);
      while (!w->io.stopped()) {
        if (w->io.poll() == 0) std::this_thread::sleep_for(pause);
      }
    });
  }
  for (auto& t : b.opt.targets) probe_target(b, t);

  for (auto& s : b.opt.scenarios) {
    if (s == "fanout" || s == "chat") run_throughput_scenario(b, s);
    else if (s == "connect") run_connect(b);
    else if (s == "idle") run_idle(b);
    else if (s == "subscribe") run_subscribe(b);
    else if (s == "storm")
      run_storm(b);
  }

  for (auto& w : b.workers) {
    run_sync(*w, [&] {
      w->ping_timer.cancel();
      for (auto& c : w->clients) c->abort();
      w->clients.clear();
    });
    w->guard.reset();
    w->io.stop();
    w->thread.join();
  }
  if (!b.opt.quiet_table) print_table(b.records, b.opt.ratios, std::cout);
  return 0;
}
