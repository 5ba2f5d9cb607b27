#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/socketio/dialect.hpp"

namespace realtime::socketio {

// A published event as the Engine.IO message a Socket.IO subscriber of `topic` receives, or ""
// when this dialect does not carry it (an event name socket.io-client reserves: its parser would
// refuse the packet and drop the connection). `data` is raw JSON, inserted verbatim. The text
// depends on nothing but the arguments: encode it once per publish per node and share it.
//
// Generic:  42["<event>",<data>,{"topic":...,"ts":...[,"offset":...]}] (offset: on a topic
//           that keeps history)
// nchat (options.nchat), the server's own events:
//   realtime.typing on channel:<id>   42["typing:start",{"userId","channelId","threadId"?,
//                                     "startedAt"}] / 42["typing:stop",{..., "stoppedAt"}]
//   realtime.presence.changed         42["presence:changed",{"userId","status","lastSeen"?}]
//                                     (lastSeen when the user went offline)
//   realtime.presence.diff            42["presence:bulk",{"presences":[{"userId","status",
//                                     "lastSeen"?},...]}] (the joins, then the leaves offline)
//   (times in ISO 8601, from ts) on any topic but realtime.events; otherwise generic.
std::string encode_published_event(std::string_view topic, std::string_view event,
                                   std::string_view data, std::int64_t ts_ms,
                                   const DialectOptions& options, std::uint64_t offset = 0);

}  // namespace realtime::socketio
