// tests/daemon/generate_test.cpp: the `paydist generate` stream (daemon/generate.cpp) in
// process: deterministic for a seed, every message type and arrangement kind in a modest
// run, one business_date a day in date order with each day's messages after it, and the
// requested share of bad lines. That paydist accepts every good line and rejects every bad
// one is tests/integration/generate_replay_test.cpp (the real binaries).
#include "daemon/generate.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace paydist {
namespace {

// A modest run: enough for every story to happen at least once.
constexpr GenerateOptions kModest{.seed = 11, .accounts = 200, .days = 60};

struct Generated {
  std::string text;
  GenerateSummary summary;
};

Generated generate(GenerateOptions options) {
  Generated out;
  options.record_bad_lines = true;
  StringSink sink;
  EXPECT_TRUE(generate_events(options, sink, out.summary));
  out.text = std::move(sink.text);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The lines that are not bad ones, in order.
std::vector<std::string> good_lines(const Generated& g) {
  const std::set<std::uint64_t> bad(g.summary.bad_line_numbers.begin(), g.summary.bad_line_numbers.end());
  std::vector<std::string> good;
  const std::vector<std::string> all = lines_of(g.text);
  for (std::size_t i = 0; i < all.size(); ++i)
    if (!bad.count(i + 1)) good.push_back(all[i]);
  return good;
}

// The string value of "key" in a compact JSON line ("" when absent).
std::string field(std::string_view line, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\":\"";
  const std::size_t at = line.find(quoted);
  if (at == std::string_view::npos) return "";
  const std::size_t start = at + quoted.size();
  return std::string(line.substr(start, line.find('"', start) - start));
}

std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(Generate, SameSeedGivesTheSameBytes) {
  const Generated first = generate(kModest);
  const Generated second = generate(kModest);
  EXPECT_GT(first.text.size(), 10'000u);
  EXPECT_TRUE(first.text == second.text) << "two runs with seed " << kModest.seed << " differ";
}

TEST(Generate, DifferentSeedsGiveDifferentStreams) {
  GenerateOptions other = kModest;
  other.seed = kModest.seed + 1;
  EXPECT_NE(generate(kModest).text, generate(other).text);
}

TEST(Generate, EveryMessageTypeAndArrangementKindAppears) {
  const Generated g = generate(kModest);
  for (std::size_t i = 0; i < kLineTypes; ++i) {
    const std::string type = to_string(static_cast<LineType>(i));
    EXPECT_GT(count_of(g.text, "\"type\":\"" + type + "\""), 0u) << type;
    EXPECT_GT(g.summary.good_by_type[i], 0u) << type;
  }
  for (const char* kind : {"cash", "direct_debit", "discount"})
    EXPECT_GT(count_of(g.text, std::string("\"kind\":\"") + kind + "\""), 0u) << kind;
  // Both forms of a schedule, both recommendation rules, and the stories around them.
  for (const char* text : {"\"schedule\":[", "\"recommend\":{", "\"rule\":\"equal_instalments\"",
                           "\"rule\":\"fixed_amount\"", "\"settlement_amount\":", "\"requested_by\":\"agency\"",
                           "\"requested_by\":\"customer\"", "\"method\":\"direct_debit\"", "\"plan_eligible\":false",
                           "\"obligation_id\":\"O", "\"reason\":\"penalty remitted\"", "\"reason\":\"interest accrual\"",
                           "\"reason\":\"arrangement broken\"", "\"reason\":\"not signed\"", "\"account_id\":\"X"})
    EXPECT_GT(count_of(g.text, text), 0u) << text;
  EXPECT_GT(g.summary.schedules, 0u);
  EXPECT_GT(g.summary.recommends, 0u);
  for (std::uint64_t n : g.summary.arrangements_by_kind) EXPECT_GT(n, 0u);
}

// contract 6 "Deadlines and the business date": one business_date a day, strictly later each
// time, first line of the stream; every message of a day comes after that day's line.
TEST(Generate, OneBusinessDateADayInDateOrderWithEachDaysMessagesAfterIt) {
  GenerateOptions options = kModest;
  options.start_day = *parse_generate_date("2026-02-25");  // crosses the end of February
  const Generated g = generate(options);
  const std::vector<std::string> lines = good_lines(g);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(field(lines.front(), "type"), "business_date");
  std::vector<std::string> dates;
  for (const std::string& line : lines) {
    const std::string type = field(line, "type");
    if (type == "business_date") {
      const std::string date = field(line, "date");
      if (!dates.empty()) {
        EXPECT_LT(dates.back(), date) << line;
      }
      dates.push_back(date);
      continue;
    }
    // Dates the producer stamps with "today" are the business date in force.
    if (type == "payment_returned") {
      EXPECT_EQ(field(line, "return_date"), dates.back()) << line;
    }
    if (type == "arrangement_created") {
      EXPECT_EQ(field(line, "start_date"), dates.back()) << line;
    }
  }
  ASSERT_EQ(dates.size(), options.days);
  EXPECT_EQ(dates.front(), "2026-02-25");
  EXPECT_EQ(dates[4], "2026-03-01");
  EXPECT_EQ(g.summary.good_by_type[static_cast<std::size_t>(LineType::business_date)], options.days);
}

TEST(Generate, SummaryCountsTheLinesWritten) {
  const Generated g = generate(kModest);
  EXPECT_EQ(g.summary.lines, lines_of(g.text).size());
  EXPECT_EQ(g.summary.bad_lines, g.summary.bad_line_numbers.size());
  std::uint64_t good = 0;
  for (std::uint64_t n : g.summary.good_by_type) good += n;
  EXPECT_EQ(good + g.summary.redeliveries + g.summary.bad_lines, g.summary.lines);
  EXPECT_EQ(g.summary.days_done, kModest.days);
}

// Bad lines are a share of all lines, near the requested one (binomial: a wide margin).
TEST(Generate, BadLineShareIsNearTheRequestedOne) {
  for (std::uint32_t permille : {3u, 50u}) {
    GenerateOptions options = kModest;
    options.accounts = 2000;
    options.days = 90;
    options.bad_permille = permille;
    const Generated g = generate(options);
    const double share = static_cast<double>(g.summary.bad_lines) / static_cast<double>(g.summary.lines) * 1000.0;
    EXPECT_NEAR(share, permille, permille * 0.35 + 0.5) << "permille " << permille << ", lines " << g.summary.lines;
  }
  GenerateOptions none = kModest;
  none.bad_permille = 0;
  EXPECT_EQ(generate(none).summary.bad_lines, 0u);
}

// Every kind of bad line is made in a large enough run (each is rejected: integration test).
TEST(Generate, EveryKindOfBadLineIsMade) {
  GenerateOptions options = kModest;
  options.bad_permille = 100;
  const Generated g = generate(options);
  for (std::size_t i = 0; i < kBadKinds; ++i)
    EXPECT_GT(g.summary.bad_by_kind[i], 0u) << to_string(static_cast<BadKind>(i));
}

// Bad lines are inserted: they take nothing from the random streams of the stories, so the
// good lines are the same whatever share is asked for.
TEST(Generate, BadLinesLeaveTheGoodLinesAsTheyAre) {
  GenerateOptions clean = kModest;
  clean.bad_permille = 0;
  GenerateOptions dirty = kModest;
  dirty.bad_permille = 40;
  const Generated with_bad = generate(dirty);
  ASSERT_GT(with_bad.summary.bad_lines, 0u);
  EXPECT_EQ(good_lines(with_bad), lines_of(generate(clean).text));
}

TEST(Generate, ParsesStartDates) {
  EXPECT_EQ(parse_generate_date("1970-01-01"), 0);
  EXPECT_EQ(parse_generate_date("2026-01-01"), GenerateOptions{}.start_day);
  EXPECT_EQ(parse_generate_date("2024-02-29"), *parse_generate_date("2024-02-28") + 1);
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026/01/01", "9000-01-01", "0999-12-31",
                          "2026-01-01x", ""})
    EXPECT_FALSE(parse_generate_date(bad)) << bad;
}

}  // namespace
}  // namespace paydist
