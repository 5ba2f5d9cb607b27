#include "support/test_helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <atomic>
#include <charconv>
#include <set>
#include <stdexcept>
#include <thread>

namespace json = boost::json;

namespace realtime::testing {

std::string ConnectTarget(std::string_view user, const std::vector<std::string>& topics) {
  std::string target = "/realtime/connect";
  char separator = '?';
  if (!user.empty()) {
    target += separator;
    target += "user=";
    target += user;
    separator = '&';
  }
  if (!topics.empty()) {
    target += separator;
    target += "topics=";
    for (std::size_t i = 0; i < topics.size(); ++i) {
      if (i > 0) target += ',';
      target += topics[i];
    }
  }
  return target;
}

std::unique_ptr<WsClient> ConnectUser(std::uint16_t port, std::string_view user,
                                      const std::vector<std::string>& topics,
                                      WsConnectOptions options) {
  options.target = ConnectTarget(user, topics);
  auto client = WsClient::Connect(port, options);
  const json::object welcome = client->ReadJson();
  if (StringField(welcome, "type") != "welcome") {
    throw std::runtime_error("first frame is not a welcome: " + json::serialize(welcome));
  }
  if (!user.empty() && StringField(welcome, "user_id") != user) {
    throw std::runtime_error("welcome names another user: " + json::serialize(welcome));
  }
  // In any order: on Redis Cluster each topic is confirmed by the master of its slot.
  std::set<std::string> waiting(topics.begin(), topics.end());
  while (!waiting.empty()) {
    const json::object reply = client->ReadUntil(
        [&](const json::object& f) {
          return StringField(f, "type") == "subscribed" &&
                 waiting.contains(StringField(f, "topic"));
        },
        "the subscribed reply for " + *waiting.begin());
    waiting.erase(StringField(reply, "topic"));
  }
  return client;
}

void Subscribe(WsClient& client, std::string_view topic) {
  std::string frame = R"({"type":"subscribe","topic":)";
  frame += json::serialize(json::value(json::string_view(topic.data(), topic.size())));
  frame += '}';
  client.Send(frame);
  const json::object reply = client.ReadSkippingPresence();
  if (StringField(reply, "type") != "subscribed" || StringField(reply, "topic") != topic) {
    throw std::runtime_error("subscribe to " + std::string(topic) +
                             " got: " + json::serialize(reply));
  }
}

std::vector<json::object> ReadUntilPong(WsClient& client, std::string_view ping_id) {
  client.Send(R"({"type":"ping","id":")" + std::string(ping_id) + R"("})");
  std::vector<json::object> before;
  for (;;) {
    json::object frame = client.ReadJson();
    if (StringField(frame, "type") == "pong") {
      const auto* id = frame.if_contains("id");
      if (id != nullptr && id->is_string() && id->get_string() == ping_id) return before;
    }
    before.push_back(std::move(frame));
  }
}

std::string EventJson(std::string_view topic, std::string_view event, std::string_view data_json) {
  std::string out = R"({"topic":")";
  out += topic;
  out += R"(","event":")";
  out += event;
  out += R"(","data":)";
  out += data_json;
  out += '}';
  return out;
}

std::string BatchJson(const std::vector<std::string>& messages) {
  std::string out = R"({"messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += messages[i];
  }
  out += "]}";
  return out;
}

HttpResponse Publish(std::uint16_t port, std::string_view topic, std::string_view event,
                     std::string_view data_json, const Headers& headers) {
  return HttpPostJson(port, "/realtime/publish", EventJson(topic, event, data_json), headers);
}

json::value ExpectEvent(WsClient& client, std::string_view topic, std::string_view event) {
  json::object frame = client.ReadSkippingPresence();
  if (StringField(frame, "type") != "event" || StringField(frame, "topic") != topic ||
      StringField(frame, "event") != event) {
    throw std::runtime_error("expected event " + std::string(event) + " on " + std::string(topic) +
                             ", got: " + json::serialize(frame));
  }
  return frame["data"];
}

std::optional<json::object> PresenceChangeIn(const json::object& frame, std::string_view user) {
  if (!IsPresenceEvent(frame)) return std::nullopt;
  const json::value* data = frame.if_contains("data");
  if (data == nullptr || !data->is_object()) return std::nullopt;
  const json::object& d = data->as_object();
  if (StringField(frame, "event") == "realtime.presence.changed") {
    if (StringField(d, "user_id") != user) return std::nullopt;
    return d;
  }
  for (const char* list : {"joins", "leaves"}) {
    const json::value* entries = d.if_contains(list);
    if (entries == nullptr || !entries->is_array()) continue;
    for (const auto& entry : entries->as_array()) {
      if (!entry.is_object() || StringField(entry.as_object(), "user_id") != user) continue;
      const bool join = std::string_view(list) == "joins";
      json::object change;
      change["user_id"] = user;
      change["old_status"] = StringField(entry.as_object(), "old_status");
      change["new_status"] = join ? StringField(entry.as_object(), "status") : "offline";
      change["topic"] = StringField(d, "topic");
      return change;
    }
  }
  return std::nullopt;
}

json::object ReadPresenceChangeOf(WsClient& client, std::string_view user,
                                  std::chrono::milliseconds timeout) {
  json::object frame =
      client.ReadUntil([&](const json::object& f) { return PresenceChangeIn(f, user).has_value(); },
                       "a presence change of " + std::string(user), timeout);
  return *PresenceChangeIn(frame, user);
}

std::optional<double> MetricValue(std::string_view exposition, std::string_view name) {
  std::size_t pos = 0;
  while (pos < exposition.size()) {
    std::size_t end = exposition.find('\n', pos);
    if (end == std::string_view::npos) end = exposition.size();
    std::string_view line = exposition.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ') {
      return std::stod(std::string(line.substr(name.size() + 1)));
    }
  }
  return std::nullopt;
}

double ScrapeMetric(std::uint16_t port, std::string_view name) {
  const HttpResponse res = HttpGet(port, "/metrics");
  if (res.status != 200) throw std::runtime_error("GET /metrics: " + std::to_string(res.status));
  auto value = MetricValue(res.body, name);
  if (!value) throw std::runtime_error("no metric " + std::string(name) + " in:\n" + res.body);
  return *value;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

void ExpectFreshClientWorks(std::uint16_t port, const Headers& publish_headers) {
  // A topic and user of its own, so earlier traffic of the test can't be mistaken for this.
  static std::atomic<int> counter{0};
  const std::string n = std::to_string(counter.fetch_add(1));
  const std::string topic = "fresh.check." + n;
  std::unique_ptr<WsClient> client;
  ASSERT_NO_THROW(client = ConnectUser(port, "fresh-" + n, {topic}))
      << "a fresh client could not connect and subscribe";
  const HttpResponse published =
      Publish(port, topic, "fresh.ping", R"({"n":)" + n + "}", publish_headers);
  ASSERT_EQ(published.status, 202) << published.body;
  json::value data;
  ASSERT_NO_THROW(data = ExpectEvent(*client, topic, "fresh.ping"));
  EXPECT_EQ(json::serialize(data), R"({"n":)" + n + "}");
  client->Close();
}

std::string StringField(const json::object& frame, std::string_view key) {
  const json::value* v = frame.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::uint64_t> ScanSeq(std::string_view frame) {
  constexpr std::string_view key = R"("seq":)";
  const auto at = frame.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t value = 0;
  const char* first = frame.data() + at + key.size();
  const auto [ptr, ec] = std::from_chars(first, frame.data() + frame.size(), value);
  if (ec != std::errc{} || ptr == first) return std::nullopt;
  return value;
}

std::uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace realtime::testing
