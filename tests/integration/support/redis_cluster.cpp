#include "support/redis_cluster.hpp"
#include "support/redis_process.hpp"
#include "support/run_process.hpp"
#include "support/test_helpers.hpp"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

namespace realtime::testing {
namespace {

struct SlotRange {
  long long start, end;
  std::uint16_t port;
  std::string id;
  auto operator<=>(const SlotRange&) const = default;
};

// A node's CLUSTER SLOTS, masters only, sorted: what "agreeing on the slot map" compares.
std::vector<SlotRange> SlotRanges(std::uint16_t port) {
  const RedisReply reply = RedisRun(port, {"CLUSTER", "SLOTS"});
  if (reply->type != REDIS_REPLY_ARRAY) {
    throw std::runtime_error("CLUSTER SLOTS: " + RedisReplyText(*reply));
  }
  std::vector<SlotRange> ranges;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* r = reply->element[i];
    const redisReply* master = r->element[2];
    ranges.push_back({r->element[0]->integer, r->element[1]->integer,
                      static_cast<std::uint16_t>(master->element[1]->integer),
                      std::string(master->element[2]->str, master->element[2]->len)});
  }
  std::sort(ranges.begin(), ranges.end());
  return ranges;
}

std::string Describe(const std::vector<SlotRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    out +=
        std::to_string(r.start) + "-" + std::to_string(r.end) + ":" + std::to_string(r.port) + " ";
  }
  return out;
}

std::optional<std::uint16_t> OwnerPort(const std::vector<SlotRange>& ranges, std::uint16_t slot) {
  for (const auto& r : ranges) {
    if (r.start <= slot && slot <= r.end) return r.port;
  }
  return std::nullopt;
}

}  // namespace

RedisCluster::RedisCluster(std::size_t nodes)
    : ports_(nodes), bus_ports_(nodes), pids_(nodes, -1), ids_(nodes) {
  char dir[] = "/tmp/rt-redis-cluster-XXXXXX";
  if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  try {
    for (std::size_t i = 0; i < nodes; ++i) {
      // A free port may be taken before redis-server binds it: try others. The bus port is
      // chosen too (--cluster-port), as port + 10000 may be taken or above 65535.
      for (int attempt = 1;; ++attempt) {
        ports_[i] = FreePort();
        do bus_ports_[i] = FreePort();
        while (bus_ports_[i] == ports_[i]);
        try {
          Spawn(i);
          break;
        } catch (const std::exception&) {
          if (attempt == 5) throw;
        }
      }
      ids_[i] = Command(i, {"CLUSTER", "MYID"});
    }
    std::vector<std::string> argv{"redis-cli", "--cluster", "create"};
    for (std::uint16_t port : ports_) argv.push_back("127.0.0.1:" + std::to_string(port));
    for (const char* a : {"--cluster-replicas", "0", "--cluster-yes"}) argv.push_back(a);
    const ProcessResult created = RunProcess(argv, {}, {}, std::chrono::seconds(60));
    if (created.exit_code != 0) {
      throw std::runtime_error("redis-cli --cluster create failed (" +
                               std::to_string(created.exit_code) + "): " + created.output);
    }
    WaitUntilHealthy();
  } catch (...) {
    for (std::size_t i = 0; i < nodes; ++i) KillNode(i);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

RedisCluster::~RedisCluster() {
  for (std::size_t i = 0; i < size(); ++i) KillNode(i);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisCluster::Url() const {
  std::string url = "redis+cluster://";
  for (std::size_t i = 0; i < size(); ++i) {
    if (i > 0) url += ',';
    url += "127.0.0.1:" + std::to_string(ports_[i]);
  }
  return url;
}

void RedisCluster::Spawn(std::size_t node) {
  const std::string port = std::to_string(ports_[node]);
  const std::string bus_port = std::to_string(bus_ports_[node]);
  const std::string conf = dir_ + "/nodes-" + port + ".conf";
  const std::string log = dir_ + "/redis-" + port + ".log";
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    const char* argv[] = {"redis-server",
                          "--port",
                          port.c_str(),
                          "--bind",
                          "127.0.0.1",
                          "--cluster-enabled",
                          "yes",
                          "--cluster-config-file",
                          conf.c_str(),
                          "--cluster-port",
                          bus_port.c_str(),
                          "--cluster-node-timeout",
                          "2000",
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--dir",
                          dir_.c_str(),
                          "--loglevel",
                          "warning",
                          "--logfile",
                          log.c_str(),
                          nullptr};
    execvp("redis-server", const_cast<char* const*>(argv));
    _exit(127);
  }
  pids_[node] = pid;
  // Ready when it answers PING; generous for a loaded machine.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (Command(node, {"PING"}) == "PONG") return;
    } catch (const std::exception&) {
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      pids_[node] = -1;
      throw std::runtime_error("redis-server exited at start (is it installed?), port " + port);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  KillNode(node);
  throw std::runtime_error("redis-server did not answer PING within 30 s, port " + port);
}

std::string RedisCluster::Command(std::size_t node, const std::vector<std::string>& args) const {
  const RedisReply reply = RedisRun(ports_.at(node), args);
  return RedisReplyText(*reply);
}

std::size_t RedisCluster::NodeOfSlot(std::uint16_t slot) const {
  for (std::size_t i = 0; i < size(); ++i) {
    if (pids_[i] <= 0) continue;
    const auto owner = OwnerPort(SlotRanges(ports_[i]), slot);
    if (!owner) break;
    return static_cast<std::size_t>(std::find(ports_.begin(), ports_.end(), *owner) -
                                    ports_.begin());
  }
  throw std::runtime_error("no running node knows an owner of slot " + std::to_string(slot));
}

void RedisCluster::MigrateSlot(std::uint16_t slot, std::size_t to) {
  const std::size_t from = NodeOfSlot(slot);
  if (from == to) return;
  const std::string s = std::to_string(slot);
  // Importing first: once migrating, the source sends ASKs there, which must be accepted.
  Command(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", ids_[from]});
  Command(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", ids_[to]});
  for (;;) {
    const RedisReply keys = RedisRun(ports_[from], {"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (keys->type != REDIS_REPLY_ARRAY) {
      throw std::runtime_error("CLUSTER GETKEYSINSLOT: " + RedisReplyText(*keys));
    }
    if (keys->elements == 0) break;
    std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(ports_[to]), "", "0",
                                     "5000",    "KEYS"};
    for (std::size_t i = 0; i < keys->elements; ++i) {
      migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    Command(from, migrate);
  }
  // The new owner first: clients the others redirect there must be served, not bounced back.
  Command(to, {"CLUSTER", "SETSLOT", s, "NODE", ids_[to]});
  Command(from, {"CLUSTER", "SETSLOT", s, "NODE", ids_[to]});
  for (std::size_t i = 0; i < size(); ++i) {
    if (i != to && i != from && pids_[i] > 0) {
      Command(i, {"CLUSTER", "SETSLOT", s, "NODE", ids_[to]});
    }
  }
  const bool agreed = WaitUntil(
      [&] {
        for (std::size_t i = 0; i < size(); ++i) {
          if (pids_[i] > 0 && OwnerPort(SlotRanges(ports_[i]), slot) != ports_[to]) return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  if (!agreed) throw std::runtime_error("the nodes don't agree slot " + s + " moved");
}

void RedisCluster::KillNode(std::size_t node) {
  if (pids_.at(node) <= 0) return;
  kill(pids_[node], SIGKILL);
  waitpid(pids_[node], nullptr, 0);
  pids_[node] = -1;
}

void RedisCluster::StartNode(std::size_t node) {
  if (pids_.at(node) > 0) return;
  Spawn(node);
  // The others clear its FAIL flag only after twice the node timeout.
  WaitUntilHealthy(std::chrono::seconds(60));
}

bool RedisCluster::Healthy() const {
  std::string why;
  return Check(why);
}

bool RedisCluster::Check(std::string& why) const {
  try {
    std::optional<std::vector<SlotRange>> first;
    for (std::size_t i = 0; i < size(); ++i) {
      if (pids_[i] <= 0) continue;
      const std::string info = Command(i, {"CLUSTER", "INFO"});
      for (const std::string& expected :
           {std::string("cluster_state:ok"), std::string("cluster_slots_ok:16384"),
            "cluster_known_nodes:" + std::to_string(size())}) {
        if (info.find(expected + "\r\n") == std::string::npos) {
          why = "node " + std::to_string(i) + " lacks " + expected + ":\n" + info;
          return false;
        }
      }
      auto ranges = SlotRanges(ports_[i]);
      if (!first) {
        first = std::move(ranges);
      } else if (ranges != *first) {
        why = "node " + std::to_string(i) + " sees " + Describe(ranges) + "; the first sees " +
              Describe(*first);
        return false;
      }
    }
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

void RedisCluster::WaitUntilHealthy(std::chrono::milliseconds timeout) const {
  std::string why;
  if (!WaitUntil([&] { return Check(why); }, timeout, std::chrono::milliseconds(50))) {
    throw std::runtime_error("the Redis Cluster is not healthy: " + why);
  }
}

}  // namespace realtime::testing
