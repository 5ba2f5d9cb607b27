#include "ws/deflate_offer.hpp"

#include <gtest/gtest.h>

namespace realtime::ws {
namespace {

TEST(DeflateOfferTest, AcceptsThePlainOffer) {
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate"));
  EXPECT_TRUE(accepts_deflate_offer("Permessage-Deflate"));
}

TEST(DeflateOfferTest, AcceptsWhatBrowsersAndNodeOffer) {
  // Chromium and Firefox
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate; client_max_window_bits"));
  // npm ws
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate; client_max_window_bits=15"));
  EXPECT_TRUE(accepts_deflate_offer(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover"));
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate;server_max_window_bits=15"));
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate; server_max_window_bits=\"15\""));
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate; client_max_window_bits=8"));
}

TEST(DeflateOfferTest, NamesAreCaseInsensitive) {
  EXPECT_TRUE(accepts_deflate_offer("PERMESSAGE-DEFLATE; Server_No_Context_Takeover"));
  // permessage_deflate_fuzz: a name that differs from ours in case at its last byte, at the end
  // of the header (Beast's iequals read past it).
  const std::string exact = "x, permessage-deflatE";
  EXPECT_TRUE(accepts_deflate_offer(std::string_view(exact)));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflatx"));
}

TEST(DeflateOfferTest, RefusesNoOfferAndOtherExtensions) {
  EXPECT_FALSE(accepts_deflate_offer(""));
  EXPECT_FALSE(accepts_deflate_offer("x-webkit-deflate-frame"));
  EXPECT_FALSE(accepts_deflate_offer("deflate-frame, permessage-bzip2"));
}

TEST(DeflateOfferTest, SkipsAnOfferWithASmallerServerWindow) {
  // Our output is compressed once with a 32 KiB window for every subscriber.
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_max_window_bits=10"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_max_window_bits=14"));
  // ... but the next offer may do.
  EXPECT_TRUE(
      accepts_deflate_offer("permessage-deflate; server_max_window_bits=10, permessage-deflate"));
}

TEST(DeflateOfferTest, SkipsAnOfferWithAnUnknownOrRepeatedParameter) {
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; x-future=1"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; mux"));
  EXPECT_FALSE(accepts_deflate_offer(
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover"));
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate; x-future=1, permessage-deflate"));
}

TEST(DeflateOfferTest, AValuelessParameterBeforeACommaEndsTheList) {
  // Beast's ext_list stops reading at a parameter without a value followed by another offer;
  // the offer it cut short is declined. Browsers and npm ws send a single offer.
  EXPECT_FALSE(
      accepts_deflate_offer("permessage-deflate; client_max_window_bits, permessage-deflate"));
  EXPECT_TRUE(
      accepts_deflate_offer("permessage-deflate; client_max_window_bits=15, permessage-deflate"));
}

TEST(DeflateOfferTest, SkipsAnOfferWithAMalformedValue) {
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_max_window_bits"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_max_window_bits=16"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_max_window_bits=015"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; client_max_window_bits=7"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; client_max_window_bits=abc"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_no_context_takeover=1"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; client_no_context_takeover=\"\""));
}

TEST(DeflateOfferTest, StopsAtASyntaxError) {
  // Beast stops reading the list there; the offer it cut short is not taken as it is.
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; x=@"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; server_no_context_takeover garbage"));
  EXPECT_FALSE(accepts_deflate_offer("permessage-deflate; client_max_window_bits=\"15"));
  EXPECT_FALSE(accepts_deflate_offer("@, permessage-deflate"));
  EXPECT_FALSE(accepts_deflate_offer(";;;"));
  // What came before the error still counts.
  EXPECT_TRUE(accepts_deflate_offer("permessage-deflate, @@@"));
}

TEST(DeflateOfferTest, ALastOfferWithoutParametersIsReadAsSuch) {
  EXPECT_TRUE(accepts_deflate_offer("foo; bar=1, permessage-deflate"));
  EXPECT_TRUE(accepts_deflate_offer(",, foo, permessage-deflate ,"));
}

}  // namespace
}  // namespace realtime::ws
