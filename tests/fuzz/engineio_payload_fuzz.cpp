// libFuzzer target: Engine.IO polling payloads and single packets (tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/socketio/engineio_payload.hpp"

using namespace realtime::socketio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const PayloadLimits limits{.max_bytes = 4096, .max_packets = 16};

  auto one = decode_eio_packet(body);
  if (auto* p = std::get_if<EioPacket>(&one)) {
    // The data is the rest of the input, and the packet encodes back to it.
    if (p->data.data() != body.data() + 1 || encode_eio_packet(p->type, p->data) != body) {
      std::abort();
    }
  }

  auto result = decode_payload(body, limits);
  if (auto* packets = std::get_if<std::vector<EioPacket>>(&result)) {
    if (body.size() > limits.max_bytes || packets->empty() ||
        packets->size() > limits.max_packets) {
      std::abort();
    }
    // Every packet is a view inside the body, and joining them gives the body back.
    std::vector<std::string> encoded;
    for (const EioPacket& p : *packets) {
      if (p.data.data() < body.data() || p.data.data() + p.data.size() > body.data() + body.size())
        std::abort();
      encoded.push_back(encode_eio_packet(p.type, p.data));
    }
    if (encode_payload(encoded) != body) std::abort();
  } else {
    (void)describe(std::get<PayloadDecodeError>(result));
  }
  return 0;
}
