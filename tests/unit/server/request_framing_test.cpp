#include "server/request_framing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace realtime {
namespace {

HttpRequest with_headers(std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/realtime/publish";
  r.headers = std::move(headers);
  return r;
}

TEST(RequestFramingTest, PlainRequestsAreUnambiguous) {
  EXPECT_EQ(ambiguous_framing(with_headers({{"host", "x"}})), std::nullopt);
  EXPECT_EQ(ambiguous_framing(with_headers({{"content-length", "4"}})), std::nullopt);
  EXPECT_EQ(ambiguous_framing(with_headers({{"transfer-encoding", "chunked"}})), std::nullopt);
  EXPECT_EQ(ambiguous_framing(with_headers({{"transfer-encoding", " Chunked\t"}})), std::nullopt);
}

// Fixtures from the parser's behaviour (Boost 1.81): each of these was read as a request without
// a body, so the chunked body behind it became the next request on the connection.
TEST(RequestFramingTest, TransferEncodingOtherThanChunkedIsRefused) {
  for (const char* value :
       {"chunked, identity", "xchunked", "gzip", "identity", "gzip, chunked", "chunked;q=1", ""}) {
    EXPECT_NE(ambiguous_framing(with_headers({{"transfer-encoding", value}})), std::nullopt)
        << value;
  }
}

TEST(RequestFramingTest, TwoTransferEncodingFieldsAreRefused) {
  EXPECT_NE(ambiguous_framing(with_headers(
                {{"transfer-encoding", "identity"}, {"transfer-encoding", "chunked"}})),
            std::nullopt);
  EXPECT_NE(ambiguous_framing(
                with_headers({{"transfer-encoding", "chunked"}, {"transfer-encoding", "chunked"}})),
            std::nullopt);
}

// The parser took "Transfer-Encoding: gzip" then "Content-Length: 4" as a 4-byte body.
TEST(RequestFramingTest, TransferEncodingWithContentLengthIsRefused) {
  EXPECT_NE(
      ambiguous_framing(with_headers({{"transfer-encoding", "gzip"}, {"content-length", "4"}})),
      std::nullopt);
  EXPECT_NE(
      ambiguous_framing(with_headers({{"transfer-encoding", "chunked"}, {"content-length", "4"}})),
      std::nullopt);
}

}  // namespace
}  // namespace realtime
