#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/http_client.hpp"
#include "support/ws_client.hpp"

// Shared by every integration test: how to connect, subscribe, publish and look at the server.
namespace realtime::testing {

// "/realtime/connect?user=USER&topics=A,B" (each part only when given).
std::string ConnectTarget(std::string_view user, const std::vector<std::string>& topics = {});

// Connects as `user` (dev mode), checks the welcome frame and waits for the `subscribed` reply
// of each of `topics` (subscribed at connect with ?topics=), so events published afterwards
// reach it. `options` may add headers or socket options; its target is replaced.
std::unique_ptr<WsClient> ConnectUser(std::uint16_t port, std::string_view user,
                                      const std::vector<std::string>& topics = {},
                                      WsConnectOptions options = {});

// Sends a subscribe frame and waits for its `subscribed` reply.
void Subscribe(WsClient& client, std::string_view topic);

// Sends a ping and returns everything that arrived before its pong. Frames are delivered in
// order, so this proves what the server queued before it saw the ping.
std::vector<boost::json::object> ReadUntilPong(WsClient& client, std::string_view ping_id);

// {"topic":T,"event":E,"data":DATA} where `data_json` is inserted verbatim.
std::string EventJson(std::string_view topic, std::string_view event, std::string_view data_json);
// {"messages":[...]} of already-encoded messages.
std::string BatchJson(const std::vector<std::string>& messages);

// POST /realtime/publish of one event; returns the response.
HttpResponse Publish(std::uint16_t port, std::string_view topic, std::string_view event,
                     std::string_view data_json, const Headers& headers = {});

// Reads the next non-presence frame, which must be `event` on `topic`; returns its data.
boost::json::value ExpectEvent(WsClient& client, std::string_view topic, std::string_view event);

// `user`'s change in a presence event frame (a realtime.presence.changed about them, or their
// entry in a realtime.presence.diff) as a changed event's data
// {"user_id","old_status","new_status","topic"}; nullopt when the frame has none.
std::optional<boost::json::object> PresenceChangeIn(const boost::json::object& frame,
                                                    std::string_view user);

// Reads until a presence change of `user` arrives (a realtime.presence.changed event, or their
// entry in a realtime.presence.diff), skipping other frames; returns it as a changed event's
// data {"user_id","old_status","new_status","topic"}.
boost::json::object ReadPresenceChangeOf(WsClient& client, std::string_view user,
                                         std::chrono::milliseconds timeout = kReadTimeout);

// The value of an unlabelled (or exactly labelled, e.g. `x{code="a"}`) Prometheus sample.
std::optional<double> MetricValue(std::string_view exposition, std::string_view name);
// GET /metrics and the value of `name`; throws when absent.
double ScrapeMetric(std::uint16_t port, std::string_view name);

// A loopback TCP port that was free a moment ago (for servers that can't be told port 0).
std::uint16_t FreePort();

// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// The check after every refused or broken input: a brand-new client can still connect,
// subscribe and receive an HTTP-published event (published with `publish_headers`, e.g. the
// key). Use with ASSERT_NO_FATAL_FAILURE.
void ExpectFreshClientWorks(std::uint16_t port, const Headers& publish_headers = {});

// The string value of `key` in `frame`, or "" if absent or not a string.
std::string StringField(const boost::json::object& frame, std::string_view key);

// Finds `"seq":N` in an encoded frame without parsing the whole JSON: the fan-out and slow
// consumer tests read millions of frames. Returns nullopt when there is none.
std::optional<std::uint64_t> ScanSeq(std::string_view frame);

}  // namespace realtime::testing
