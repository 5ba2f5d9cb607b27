#pragma once

#include <string_view>

namespace realtime::ws {

// permessage-deflate (RFC 7692) negotiation, server side. We compress every event once per
// publish and send that one frame to every subscriber that negotiated the extension, so the
// compressor keeps no context between messages (server_no_context_takeover), and we inflate
// client messages with one inflater per shard, so the client keeps none either
// (client_no_context_takeover, which §7.1.1.2 lets a server add even when not offered).

// Our answer, whichever acceptable offer the client made.
inline constexpr std::string_view deflate_response =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

// Whether the client's Sec-WebSocket-Extensions offers (all of its headers, joined with ",")
// hold a permessage-deflate offer we can honour. Offers are tried in the client's order; one is
// skipped when it has an unknown or repeated parameter, a malformed value, or
// server_max_window_bits below 15 (our window-15 output is shared by every subscriber).
// Parsing stops at the first malformed offer: what follows it is not read. (Beast's ext_list
// also stops at a parameter without a value that is followed by a comma and another offer: the
// offer so cut short is declined. Clients in practice send one offer.)
bool accepts_deflate_offer(std::string_view extensions);

}  // namespace realtime::ws
