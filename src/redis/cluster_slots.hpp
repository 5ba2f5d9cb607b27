#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace realtime {

// Redis Cluster's key space, sans-io: which slot a key hashes to, who owns each slot (from
// CLUSTER SLOTS) and the redirections nodes answer with.

constexpr std::size_t cluster_slot_count = 16384;

// CRC16 (XMODEM) of the key's hash tag -- the bytes between the first '{' and the first '}'
// after it, when there is at least one -- or of the whole key, mod 16384.
std::uint16_t key_slot(std::string_view key);

struct ClusterNode {
  std::string host;
  std::uint16_t port = 0;
  std::string id;  // empty when the reply carried none
  bool operator==(const ClusterNode&) const = default;
};

// The slot -> master map of one CLUSTER SLOTS reply. Replicas are ignored: pub/sub goes to
// masters.
class ClusterSlotMap {
 public:
  // From a CLUSTER SLOTS reply sent by `queried_host`, which stands in for nodes whose
  // endpoint is unknown (nil, "" or "?"). A malformed reply (it comes from the
  // network) gives nullopt and `error`, never an exception.
  static std::optional<ClusterSlotMap> from_cluster_slots(const redisReply& reply,
                                                          std::string_view queried_host,
                                                          std::string& error);

  // The masters that own at least one slot, each host:port once, in the reply's order.
  const std::vector<ClusterNode>& nodes() const { return nodes_; }
  // Index into nodes(); nullopt when nobody serves the slot (or slot >= 16384).
  std::optional<std::size_t> owner(std::uint16_t slot) const;
  // Index into nodes() of host:port (as a MOVED names it), if it owns slots.
  std::optional<std::size_t> find(std::string_view host, std::uint16_t port) const;
  bool covers_all_slots() const;

  // Same owners (by host:port and id) for every slot, so a refresh that changed nothing can
  // be told apart from one that did.
  bool operator==(const ClusterSlotMap&) const = default;

 private:
  static constexpr std::uint16_t unassigned = 0xFFFF;

  ClusterSlotMap();

  std::vector<ClusterNode> nodes_;
  std::array<std::uint16_t, cluster_slot_count> owners_;
};

// A MOVED (the slot has a new owner: update the map) or ASK (one command to another node,
// preceded by ASKING, while the slot migrates) error reply.
struct ClusterRedirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  std::uint16_t slot = 0;
  // Empty when the node sent none (Redis 7's "MOVED 3999 :6381" for an unknown endpoint, or
  // "?:6381" for an unknown hostname): the caller substitutes the host of the node that
  // answered.
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const ClusterRedirect&) const = default;
};

// `error_text` as hiredis gives it (no leading '-'), e.g. "MOVED 3999 127.0.0.1:6381" or
// "ASK 3999 ::1:6381" (IPv6: the port follows the last ':'). Anything else: nullopt.
std::optional<ClusterRedirect> parse_cluster_redirect(std::string_view error_text);

// "CLUSTERDOWN ...": the cluster can't serve the slot now (failover, lost majority).
bool is_cluster_down(std::string_view error_text);
// "TRYAGAIN ...": a multi-key command during a slot migration; retry after a short wait.
bool is_try_again(std::string_view error_text);

}  // namespace realtime
