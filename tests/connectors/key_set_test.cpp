// tests/connectors/key_set_test.cpp: KeySet (connectors/key_set.h), the batch's set of
// accepted event keys: membership, duplicates, growth, insertion order, clear.
#include "connectors/key_set.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace paydist {
namespace {

std::vector<std::string> keys_of(const KeySet& set) {
  std::vector<std::string> keys;
  set.for_each([&](std::string_view k) { keys.emplace_back(k); });
  return keys;
}

TEST(KeySetTest, AnEmptySetHoldsNothing) {
  const KeySet set;
  EXPECT_FALSE(set.contains("e1"));
  EXPECT_FALSE(set.contains(""));
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.size(), 0u);
  EXPECT_TRUE(keys_of(set).empty());
}

TEST(KeySetTest, AKeyIsFoundOnceInsertedAndASecondInsertIsRefused) {
  using namespace std::string_literals;
  KeySet set;
  EXPECT_TRUE(set.insert("e1\0A1"s));
  EXPECT_FALSE(set.insert("e1\0A1"s));
  EXPECT_TRUE(set.contains("e1\0A1"s));
  EXPECT_FALSE(set.contains("e1"));
  EXPECT_EQ(set.size(), 1u);
}

TEST(KeySetTest, KeysDifferingOnlyAfterANulAreDifferentKeys) {
  using namespace std::string_literals;
  KeySet set;
  EXPECT_TRUE(set.insert("e1\0A1"s));
  EXPECT_TRUE(set.insert("e1\0A2"s));
  EXPECT_FALSE(set.contains("e1\0A3"s));
  EXPECT_TRUE(set.contains("e1\0A2"s));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.bytes(), 10u);
}

// Far past the first table (1,024 slots): every key stays findable through each growth, no
// absent key is found, and for_each gives them in the order they came.
TEST(KeySetTest, ManyKeysSurviveEachGrowthInInsertionOrder) {
  KeySet set;
  std::vector<std::string> inserted;
  for (int i = 0; i < 50'000; ++i) {
    inserted.push_back(fmt::format("e{}", (i * 7919) % 100'003));
    ASSERT_TRUE(set.insert(inserted.back())) << inserted.back();
  }
  for (const std::string& k : inserted) ASSERT_TRUE(set.contains(k)) << k;
  for (const std::string& k : inserted) ASSERT_FALSE(set.insert(k)) << k;
  const std::set<std::string> present(inserted.begin(), inserted.end());
  for (int i = 0; i < 100'003; ++i) {
    const std::string k = fmt::format("e{}", i);
    ASSERT_EQ(set.contains(k), present.contains(k)) << k;
  }
  EXPECT_EQ(set.size(), inserted.size());
  EXPECT_EQ(keys_of(set), inserted);
}

TEST(KeySetTest, ClearEmptiesTheSetAndItCanBeFilledAgain) {
  KeySet set;
  for (int i = 0; i < 3000; ++i) set.insert(fmt::format("k{}", i));
  set.clear();
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.bytes(), 0u);
  EXPECT_FALSE(set.contains("k1"));
  EXPECT_TRUE(set.insert("k1"));
  EXPECT_EQ(keys_of(set), std::vector<std::string>{"k1"});
}

}  // namespace
}  // namespace paydist
