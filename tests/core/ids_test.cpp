// tests/core/ids_test.cpp: identifiers (contract 1): 1 to 64 of A-Z a-z 0-9 . _ : -
#include "core/ids.h"

#include <gtest/gtest.h>

#include <string>

namespace paydist {
namespace {

TEST(Ids, AcceptTheWholeAlphabet) {
  EXPECT_TRUE(is_valid_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  EXPECT_TRUE(is_valid_id("abcdefghijklmnopqrstuvwxyz"));
  EXPECT_TRUE(is_valid_id("0123456789"));
  EXPECT_TRUE(is_valid_id(".-_:"));
  EXPECT_TRUE(is_valid_id("ACC-1.a_b:c"));
  EXPECT_TRUE(is_valid_id("x"));
}

TEST(Ids, RejectEveryOtherCharacter) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool allowed = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                         ch == '.' || ch == '_' || ch == ':' || ch == '-';
    EXPECT_EQ(is_valid_id(std::string{"A"} + ch + "B"), allowed) << "character " << c;
  }
  EXPECT_FALSE(is_valid_id("ACC 1"));
  EXPECT_FALSE(is_valid_id("ACC/1"));
  EXPECT_FALSE(is_valid_id("é"));
}

TEST(Ids, AcceptSixtyFourCharactersAndRejectSixtyFiveOrEmpty) {
  EXPECT_TRUE(is_valid_id(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_TRUE(AccountId::parse(std::string(64, 'Z')).ok());
  EXPECT_FALSE(AccountId::parse(std::string(65, 'Z')).ok());
}

TEST(Ids, ParseKeepsTheTextAndNamesTheFieldInItsReason) {
  Result<ObligationId> o = ObligationId::parse("O-1");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->str(), "O-1");
  Result<PaymentId> bad = PaymentId::parse("P 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("payment_id"), std::string::npos);
  EXPECT_EQ(bad.error().find('\n'), std::string::npos);
}

TEST(Ids, CompareByText) {
  EXPECT_LT(ObligationId::parse("OA").value(), ObligationId::parse("OB").value());
  EXPECT_EQ(ArrangementId::parse("R1").value(), ArrangementId::parse("R1").value());
  EXPECT_EQ(fmt::format("{}", AccountId::parse("ACC1").value()), "ACC1");
}

}  // namespace
}  // namespace paydist
