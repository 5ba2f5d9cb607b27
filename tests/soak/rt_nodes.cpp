// rt-nodes: many nodes on one Redis (issue 17's proof; `BENCH_SCENARIOS=nodes make bench`, not a
// test). NODES_COUNT server processes (4) on one redis-server, NODES_CONNECTIONS connections on
// each (15,000: under the 20,000 descriptors a process may have here), every connection in one of
// NODES_TOPICS chat topics (6,000) whose members sit on every node, then NODES_MINUTES (3) of chat
// traffic at NODES_RATE events/s (3,000) published through every node in turn. Each node's clients
// run in a child process of their own (this binary with --clients), so no process holds more than
// one node's connections. Every event carries its topic's sequence number; each connection counts
// what it got, repeats and reorderings. Reports per-node RSS, Redis' CPU and memory, and exits 0
// only when nothing was lost, duplicated or reordered and no client was dropped.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/client_pool.hpp"
#include "support/redis_process.hpp"
#include "support/server_process.hpp"
#include "support/test_helpers.hpp"

extern char** environ;

using namespace realtime::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

void raise_open_files() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string topic_name(std::size_t t) { return "room:" + std::to_string(t); }

// Connection k of node n is global member n + nodes * k; members k of every node share topic
// k % topics, so each topic has members on every node.
std::size_t topic_of(std::size_t k, std::size_t topics) { return k % topics; }

// --clients PORT NODE NODES COUNT TOPICS: one node's connections. Prints "ready N" once all are
// subscribed, then reads the accepted count of every topic from stdin and prints
// "result received lost duplicated reordered dropped" once deliveries are complete or quiet.
int run_clients(std::uint16_t port, std::size_t node, std::size_t nodes, std::size_t count,
                std::size_t topics) {
  raise_open_files();
  struct State {
    std::uint64_t last = 0;
    std::uint64_t received = 0;
  };
  std::vector<State> states(count);
  std::mutex mutex;
  std::atomic<std::size_t> subscribed{0};
  std::atomic<std::uint64_t> frames{0}, duplicated{0}, reordered{0};
  ClientPool pool(port, [&](std::size_t i, std::string_view text) {
    ++frames;
    if (text.find(R"("type":"subscribed")") != std::string_view::npos) {
      ++subscribed;
      return;
    }
    if (text.find(R"("event":"m")") == std::string_view::npos) return;  // presence
    const auto seq = ScanSeq(text);
    if (!seq) return;
    std::lock_guard lock(mutex);
    State& s = states[i];
    if (*seq == s.last) {
      ++duplicated;
    } else if (*seq < s.last) {
      ++reordered;
    } else {
      s.last = *seq;
      ++s.received;
    }
  });
  const std::size_t open = pool.Open(
      count,
      [&](std::size_t k) {
        return ConnectTarget("u" + std::to_string(node + nodes * k),
                             {topic_name(topic_of(k, topics))});
      },
      64, 600s);
  const auto deadline = Clock::now() + 300s;
  while (subscribed.load() < open && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  std::cout << "ready " << subscribed.load() << std::endl;

  std::vector<std::uint64_t> accepted(topics);
  for (auto& a : accepted) std::cin >> a;
  if (!std::cin) return 2;
  auto missing = [&] {
    std::lock_guard lock(mutex);
    std::uint64_t lost = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t want = accepted[topic_of(k, topics)];
      if (states[k].received < want) lost += want - states[k].received;
    }
    return lost;
  };
  // Until complete, or nothing arrived for 5 s.
  std::uint64_t seen = frames.load();
  for (auto quiet = Clock::now(); missing() > 0 && Clock::now() - quiet < 5s;) {
    std::this_thread::sleep_for(100ms);
    if (frames.load() != seen) {
      seen = frames.load();
      quiet = Clock::now();
    }
  }
  std::uint64_t received = 0;
  {
    std::lock_guard lock(mutex);
    for (const State& s : states) received += s.received;
  }
  std::cout << "result " << received << " " << missing() << " " << duplicated.load() << " "
            << reordered.load() << " " << pool.unexpected_ends() + (count - open) << std::endl;
  pool.CloseAll(60s);
  return 0;
}

// A child running --clients, with pipes to its stdin and from its stdout.
struct Clients {
  pid_t pid = -1;
  FILE* in = nullptr;   // its stdin
  FILE* out = nullptr;  // its stdout

  Clients(const std::vector<std::string>& args) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start a clients process");
    }
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    in = fdopen(to_child[1], "w");
    out = fdopen(from_child[0], "r");
  }
  ~Clients() {
    if (in != nullptr) fclose(in);
    if (out != nullptr) fclose(out);
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string ReadLine() {
    char buf[512];
    if (fgets(buf, sizeof buf, out) == nullptr) return {};
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
};

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::uint64_t redis_used_memory(const RedisProcess& redis) {
  const std::string info = redis.Command({"INFO", "memory"});
  const auto at = info.find("used_memory:");
  return at == std::string::npos ? 0 : std::strtoull(info.c_str() + at + 12, nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && std::string(argv[1]) == "--clients") {
    return run_clients(static_cast<std::uint16_t>(std::atoi(argv[2])),
                       std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10),
                       std::strtoull(argv[5], nullptr, 10), std::strtoull(argv[6], nullptr, 10));
  }
  raise_open_files();
  const std::size_t nodes = env_size("NODES_COUNT", 4);
  const std::size_t per_node = env_size("NODES_CONNECTIONS", 15000);
  const std::size_t topics = env_size("NODES_TOPICS", 6000);
  const double minutes =
      std::atof(std::getenv("NODES_MINUTES") ? std::getenv("NODES_MINUTES") : "3");
  const std::size_t rate = env_size("NODES_RATE", 3000);
  std::cerr << "rt-nodes: " << nodes << " nodes x " << per_node << " connections, " << topics
            << " topics, " << rate << " events/s for " << minutes << " min\n";

  RedisProcess redis;
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (std::size_t n = 0; n < nodes; ++n) {
    servers.push_back(std::make_unique<ServerProcess>(
        ServerProcess::DevArgs({"--redis-url", redis.Url(), "--heartbeat-seconds", "3600",
                                "--max-connections", "20000"})));
  }
  for (const auto& s : servers) {
    if (!WaitUntil([&] { return HttpGet(s->port(), "/health").status == 200; }, 60s)) {
      std::cerr << "rt-nodes: a node is not healthy\n" << s->Log();
      return 1;
    }
  }
  std::vector<std::uint64_t> rss_start;
  for (const auto& s : servers) rss_start.push_back(s->RssBytes());

  const auto connect_start = Clock::now();
  std::vector<std::unique_ptr<Clients>> clients;
  for (std::size_t n = 0; n < nodes; ++n) {
    clients.push_back(std::make_unique<Clients>(std::vector<std::string>{
        "rt-nodes", "--clients", std::to_string(servers[n]->port()), std::to_string(n),
        std::to_string(nodes), std::to_string(per_node), std::to_string(topics)}));
  }
  std::size_t ready = 0;
  for (auto& c : clients) {
    const std::string line = c->ReadLine();
    if (line.rfind("ready ", 0) != 0) {
      std::cerr << "rt-nodes: a clients process failed: '" << line << "'\n";
      return 1;
    }
    ready += std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  const double connect_s = std::chrono::duration<double>(Clock::now() - connect_start).count();
  std::cerr << "rt-nodes: " << ready << " of " << nodes * per_node
            << " connected and subscribed in " << connect_s << " s\n";
  std::this_thread::sleep_for(5s);  // presence traffic of the joins settles
  std::vector<std::uint64_t> rss_connected;
  for (const auto& s : servers) rss_connected.push_back(s->RssBytes());
  const std::uint64_t redis_memory_connected = redis_used_memory(redis);

  // Publishing: every 10 ms a batch of rate/100 events on the next topics in turn, through the
  // next node.
  std::vector<std::uint64_t> next_seq(topics, 0), accepted(topics, 0);
  std::uint64_t refused = 0, published = 0;
  const std::size_t per_batch = std::max<std::size_t>(1, rate / 100);
  const auto traffic_start = Clock::now();
  const auto redis_cpu0 = ProcessCpuTime(redis.pid());
  std::vector<std::chrono::microseconds> node_cpu0;
  for (const auto& s : servers) node_cpu0.push_back(s->CpuTime());
  std::size_t topic = 0, via = 0;
  auto tick = traffic_start;
  auto report_at = traffic_start + 30s;
  const auto end =
      traffic_start + std::chrono::milliseconds(static_cast<long long>(minutes * 60000));
  while (Clock::now() < end) {
    std::vector<std::string> messages;
    std::vector<std::size_t> batch_topics;
    for (std::size_t i = 0; i < per_batch; ++i, topic = (topic + 1) % topics) {
      messages.push_back(
          EventJson(topic_name(topic), "m", "{\"seq\":" + std::to_string(++next_seq[topic]) + "}"));
      batch_topics.push_back(topic);
    }
    const HttpResponse r =
        HttpPostJson(servers[via]->port(), "/realtime/publish", BatchJson(messages));
    via = (via + 1) % nodes;
    if (r.status == 202) {
      for (std::size_t t : batch_topics) ++accepted[t];
      published += batch_topics.size();
    } else {
      refused += batch_topics.size();
    }
    if (Clock::now() >= report_at) {
      report_at += 30s;
      std::cerr << "rt-nodes: " << published << " events accepted, " << refused << " refused; RSS";
      for (const auto& s : servers) std::cerr << " " << mib(s->RssBytes());
      std::cerr << " MiB\n";
    }
    tick += 10ms;
    std::this_thread::sleep_until(tick);
  }
  const double traffic_s = std::chrono::duration<double>(Clock::now() - traffic_start).count();
  const double redis_cores =
      std::chrono::duration<double>(ProcessCpuTime(redis.pid()) - redis_cpu0).count() / traffic_s;
  std::vector<double> node_cores;
  for (std::size_t n = 0; n < nodes; ++n) {
    node_cores.push_back(
        std::chrono::duration<double>(servers[n]->CpuTime() - node_cpu0[n]).count() / traffic_s);
  }
  std::vector<std::uint64_t> rss_end;
  for (const auto& s : servers) rss_end.push_back(s->RssBytes());

  std::ostringstream counts;
  for (std::uint64_t a : accepted) counts << a << ' ';
  counts << '\n';
  std::uint64_t received = 0, lost = 0, duplicated = 0, reordered = 0, dropped = 0;
  for (auto& c : clients) {
    fputs(counts.str().c_str(), c->in);
    fflush(c->in);
  }
  for (auto& c : clients) {
    std::istringstream line(c->ReadLine());
    std::string word;
    std::uint64_t v[5] = {};
    line >> word >> v[0] >> v[1] >> v[2] >> v[3] >> v[4];
    if (word != "result") {
      std::cerr << "rt-nodes: a clients process gave no result\n";
      return 1;
    }
    received += v[0];
    lost += v[1];
    duplicated += v[2];
    reordered += v[3];
    dropped += v[4];
  }

  std::cout << "| node | RSS idle | RSS with connections | RSS after traffic | per connection | "
               "CPU during traffic |\n"
            << "|---|---|---|---|---|---|\n";
  for (std::size_t n = 0; n < nodes; ++n) {
    std::cout << "| " << n << " | " << mib(rss_start[n]) << " MiB | " << mib(rss_connected[n])
              << " MiB | " << mib(rss_end[n]) << " MiB | "
              << static_cast<double>(rss_connected[n] - rss_start[n]) / 1024.0 /
                     static_cast<double>(per_node)
              << " KiB | " << node_cores[n] << " cores |\n";
  }
  std::cout << "\nconnections: " << ready << " of " << nodes * per_node << " in " << connect_s
            << " s\nevents: " << published << " accepted ("
            << static_cast<double>(published) / traffic_s << "/s over " << topics << " topics), "
            << refused << " refused\ndeliveries: " << received << " ("
            << static_cast<double>(received) / traffic_s << "/s); lost " << lost << ", duplicated "
            << duplicated << ", reordered " << reordered << ", clients dropped " << dropped
            << "\nredis: " << redis_cores << " cores during traffic; used_memory "
            << mib(redis_memory_connected) << " MiB with every connection's presence\n";
  const bool pass = lost == 0 && duplicated == 0 && reordered == 0 && dropped == 0 &&
                    ready == nodes * per_node && refused == 0;
  std::cout << (pass ? "PASS" : "FAIL") << std::endl;
  return pass ? 0 : 1;
}
