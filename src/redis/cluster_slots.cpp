#include "redis/cluster_slots.hpp"

#include <hiredis/hiredis.h>

#include <boost/crc.hpp>

#include <charconv>

#include "redis/redis_endpoint.hpp"
#include "redis/resp.hpp"

namespace realtime {
namespace {

using Crc16Xmodem = boost::crc_optimal<16, 0x1021, 0, 0, false, false>;

// reply_string() also returns the text of errors: an address or an id must be a string.
bool is_string(const redisReply& r) {
  return r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS;
}

bool is_nil(const redisReply& r) { return r.type == REDIS_REPLY_NIL; }

// A whole token of decimal digits within [min, max].
std::optional<unsigned> parse_number(std::string_view text, unsigned min, unsigned max) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// "[start, end, master, replicas...]": checks element `i` of the reply and, on success, sets
// the master's node and the range.
bool parse_range(const redisReply& range, std::size_t i, std::string_view queried_host,
                 long long& start, long long& end, ClusterNode& master, std::string& error) {
  const std::string where = "CLUSTER SLOTS entry " + std::to_string(i) + ": ";
  if (!reply_is_array(range) || reply_size(range) < 3) {
    error = where + "not an array of [start, end, master, ...]";
    return false;
  }
  const redisReply& first = reply_at(range, 0);
  const redisReply& last = reply_at(range, 1);
  if (!reply_is_integer(first) || !reply_is_integer(last)) {
    error = where + "the slot range is not two integers";
    return false;
  }
  start = reply_integer(first);
  end = reply_integer(last);
  if (start < 0 || end >= static_cast<long long>(cluster_slot_count) || start > end) {
    error = where + "bad slot range " + std::to_string(start) + "-" + std::to_string(end);
    return false;
  }
  // [endpoint, port, id, metadata]; the id since Redis 4, the metadata since 7.
  const redisReply& node = reply_at(range, 2);
  if (!reply_is_array(node) || reply_size(node) < 2) {
    error = where + "the master is not an array of [endpoint, port, ...]";
    return false;
  }
  const redisReply& endpoint = reply_at(node, 0);
  if (!is_nil(endpoint) && !is_string(endpoint)) {
    error = where + "the master's endpoint is not a string";
    return false;
  }
  const redisReply& port = reply_at(node, 1);
  if (!reply_is_integer(port) || reply_integer(port) < 1 || reply_integer(port) > 65535) {
    error = where + "the master's port is not in 1-65535";
    return false;
  }
  master.id.clear();
  if (reply_size(node) >= 3) {
    const redisReply& id = reply_at(node, 2);
    if (!is_string(id)) {
      error = where + "the master's node id is not a string";
      return false;
    }
    master.id = reply_string(id);
  }
  // nil (cluster-preferred-endpoint-type unknown-endpoint), "?" (hostname type, none set)
  // and "" (the node doesn't know its own address yet) all mean "where you asked".
  const std::string_view host = is_nil(endpoint) ? std::string_view() : reply_string(endpoint);
  master.host = host.empty() || host == "?" ? std::string(queried_host) : std::string(host);
  master.port = static_cast<std::uint16_t>(reply_integer(port));
  return true;
}

bool starts_with_word(std::string_view text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ');
}

}  // namespace

std::uint16_t key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  Crc16Xmodem crc;
  crc.process_bytes(key.data(), key.size());
  return static_cast<std::uint16_t>(crc.checksum() % cluster_slot_count);
}

ClusterSlotMap::ClusterSlotMap() { owners_.fill(unassigned); }

std::optional<ClusterSlotMap> ClusterSlotMap::from_cluster_slots(const redisReply& reply,
                                                                 std::string_view queried_host,
                                                                 std::string& error) {
  if (reply_is_error(reply)) {
    error = "CLUSTER SLOTS failed: " + std::string(reply_string(reply));
    return std::nullopt;
  }
  if (!reply_is_array(reply)) {
    error = "CLUSTER SLOTS reply is not an array";
    return std::nullopt;
  }
  ClusterSlotMap map;
  ClusterNode master;
  for (std::size_t i = 0; i < reply_size(reply); ++i) {
    long long start = 0, end = 0;
    if (!parse_range(reply_at(reply, i), i, queried_host, start, end, master, error)) {
      return std::nullopt;
    }
    // One node per address (what we connect to); should two ids share one, the first wins.
    std::size_t index = map.find(master.host, master.port).value_or(map.nodes_.size());
    if (index == map.nodes_.size()) map.nodes_.push_back(master);
    // Rejecting overlaps also bounds the node count by the slot count, below `unassigned`.
    for (long long slot = start; slot <= end; ++slot) {
      if (map.owners_[slot] != unassigned) {
        error = "CLUSTER SLOTS entry " + std::to_string(i) + ": slot " + std::to_string(slot) +
                " is listed twice";
        return std::nullopt;
      }
      map.owners_[slot] = static_cast<std::uint16_t>(index);
    }
  }
  return map;
}

std::optional<std::size_t> ClusterSlotMap::owner(std::uint16_t slot) const {
  if (slot >= cluster_slot_count || owners_[slot] == unassigned) return std::nullopt;
  return owners_[slot];
}

std::optional<std::size_t> ClusterSlotMap::find(std::string_view host, std::uint16_t port) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].port == port && nodes_[i].host == host) return i;
  }
  return std::nullopt;
}

bool ClusterSlotMap::covers_all_slots() const {
  for (std::uint16_t owner : owners_) {
    if (owner == unassigned) return false;
  }
  return true;
}

std::optional<ClusterRedirect> parse_cluster_redirect(std::string_view error_text) {
  ClusterRedirect redirect;
  std::string_view rest;
  if (error_text.starts_with("MOVED ")) {
    redirect.kind = ClusterRedirect::Kind::moved;
    rest = error_text.substr(6);
  } else if (error_text.starts_with("ASK ")) {
    redirect.kind = ClusterRedirect::Kind::ask;
    rest = error_text.substr(4);
  } else {
    return std::nullopt;
  }
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto slot = parse_number(rest.substr(0, space), 0, cluster_slot_count - 1);
  const std::string_view address = rest.substr(space + 1);
  const auto colon = address.rfind(':');
  if (!slot || colon == std::string_view::npos) return std::nullopt;
  const auto port = parse_port_number(address.substr(colon + 1));
  if (!port) return std::nullopt;
  std::string_view host = address.substr(0, colon);
  if (host.find(' ') != std::string_view::npos) return std::nullopt;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "?") host = {};
  redirect.slot = static_cast<std::uint16_t>(*slot);
  redirect.host = host;
  redirect.port = *port;
  return redirect;
}

bool is_cluster_down(std::string_view error_text) {
  return starts_with_word(error_text, "CLUSTERDOWN");
}

bool is_try_again(std::string_view error_text) { return starts_with_word(error_text, "TRYAGAIN"); }

}  // namespace realtime
