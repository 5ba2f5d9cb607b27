#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace realtime::testing {

// A private Redis Cluster of `nodes` masters (no replicas) on free ports, in a temporary
// directory removed with it. The constructor returns once every node reports cluster_state:ok
// and all agree on who owns each slot.
class RedisCluster {
 public:
  explicit RedisCluster(std::size_t nodes = 3);  // throws with the reason when it can't
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  std::size_t size() const { return ports_.size(); }
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  const std::string& NodeId(std::size_t node) const { return ids_.at(node); }
  // redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...
  std::string Url() const;

  // Runs a command on one node (blocking, hiredis, no redirections followed) and returns the
  // reply as text like RedisProcess::Command. Throws on connection errors and error replies
  // (the message holds the error, e.g. "redis error: MOVED 12182 127.0.0.1:P").
  std::string Command(std::size_t node, const std::vector<std::string>& args) const;

  // The index of the node that owns `slot`, as the first running node sees it.
  std::size_t NodeOfSlot(std::uint16_t slot) const;

  // Moves `slot` and its keys to `to` the way `redis-cli --cluster reshard` does (IMPORTING,
  // MIGRATING, MIGRATE in batches, SETSLOT NODE everywhere), then waits until every running
  // node agrees.
  void MigrateSlot(std::uint16_t slot, std::size_t to);

  // SIGKILL, like a crash. The others mark it failed after the node timeout (2 s) and, as
  // its slots have no replica, report cluster_state:fail.
  void KillNode(std::size_t node);
  // Restarts a killed node on its port with its nodes.conf, so it rejoins with its id and
  // slots; returns once the cluster is healthy again.
  void StartNode(std::size_t node);

  // Whether every running node reports cluster_state:ok, knows every node, sees all slots
  // served, and all agree on each slot's owner.
  bool Healthy() const;
  // Polls Healthy(); throws after `timeout` with what was last seen.
  void WaitUntilHealthy(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  void Spawn(std::size_t node);
  bool Check(std::string& why) const;  // Healthy(), and why not

  std::string dir_;
  std::vector<std::uint16_t> ports_;
  std::vector<std::uint16_t> bus_ports_;
  std::vector<pid_t> pids_;
  std::vector<std::string> ids_;
};

}  // namespace realtime::testing
