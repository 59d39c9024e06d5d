// tests/integration/generate_replay_test.cpp: `paydist generate` then `paydist replay` as
// real processes. The generator's model of each account must agree with the engine: every
// good line is accepted, every bad line rejected (with a reason), each repeated line is a
// silent duplicate; and a realistic stream makes every kind of activity the contract
// defines. The same options in process give the same bytes as the binary.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/generate.h"
#include "tests/support/process.h"

namespace paydist {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::read_text;
using testing::run_to_end;
using testing::split_lines;

const std::string kBinary = PAYDIST_BINARY;
// One run of the binary may take this long (Asan builds are slow) before it is killed.
constexpr auto kRunTimeout = 300s;

// A temporary directory of this suite's, removed at scope end.
class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("paydist-generate") {}
};

// The value of `key` in a compact JSON line written by paydist ("" when absent).
std::string field(std::string_view line, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\":\"";
  const std::size_t at = line.find(quoted);
  if (at == std::string_view::npos) return "";
  const std::size_t start = at + quoted.size();
  return std::string(line.substr(start, line.find('"', start) - start));
}

// "replay: lines=... accepted=N ..." -> N for `key`.
std::uint64_t summary_number(const std::string& err, const std::string& key) {
  const std::size_t at = err.find(" " + key + "=");
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(err.substr(at + key.size() + 2));
}

TEST(GenerateReplay, AcceptsEveryGoodLineRejectsEveryBadOneAndMakesEveryActivity) {
  ASSERT_TRUE(fs::exists(kBinary)) << "paydist binary not built: " << kBinary;
  const GenerateOptions options{.seed = 7, .accounts = 500, .days = 90, .bad_permille = 5, .record_bad_lines = true};
  TempDir tmp;
  const std::string events = (tmp / "events.jsonl").string();

  const testing::Finished generated =
      run_to_end({kBinary, "generate", "--seed", "7", "--accounts", "500", "--days", "90", "--bad-share", "5", "--out",
                  events},
                 tmp / "generate", kRunTimeout);
  ASSERT_EQ(generated.status, 0) << generated.err;
  StringSink expected;
  GenerateSummary summary;
  ASSERT_TRUE(generate_events(options, expected, summary));
  ASSERT_TRUE(read_text(events) == expected.text) << "the binary and the library wrote different streams";
  ASSERT_GT(summary.bad_lines, 0u);

  const testing::Finished replayed =
      run_to_end({kBinary, "replay", "--state", (tmp / "state").string(), "--out", (tmp / "out").string(), events},
                 tmp / "replay", kRunTimeout);
  ASSERT_EQ(replayed.status, 0) << replayed.err;

  // Rejected lines = the bad lines, each with a reason.
  std::vector<std::uint64_t> rejected;
  for (const std::string& line : split_lines(read_text(tmp / "out" / "rejects.jsonl"))) {
    const std::string source = field(line, "source");
    ASSERT_EQ(source.rfind(events + ":", 0), 0u) << line;
    rejected.push_back(std::stoull(source.substr(events.size() + 1)));
    EXPECT_FALSE(field(line, "error").empty()) << line;
  }
  std::sort(rejected.begin(), rejected.end());
  EXPECT_EQ(rejected, summary.bad_line_numbers);
  EXPECT_EQ(summary_number(replayed.err, "duplicates"), summary.redeliveries) << replayed.err;
  EXPECT_EQ(summary_number(replayed.err, "accepted"), summary.lines - summary.bad_lines - summary.redeliveries)
      << replayed.err;

  // Every kind of activity, every NO_ARRANGEMENT trigger, direct-debit breaks from a return.
  std::map<std::string, int> activities;
  for (const std::string& line : split_lines(read_text(tmp / "out" / "activities.jsonl"))) {
    const std::string type = field(line, "type");
    ++activities[type];
    if (type == "NO_ARRANGEMENT") ++activities["NO_ARRANGEMENT " + field(line, "trigger")];
    if (type == "BROKEN_ARRANGEMENT") ++activities["BROKEN_ARRANGEMENT " + field(line, "kind")];
    if (type == "BROKEN_ARRANGEMENT" && !field(line, "reason_code").empty()) ++activities["BROKEN_ARRANGEMENT returned"];
    if (type == "REVIEW_DUE") ++activities["REVIEW_DUE " + field(line, "requested_by")];
  }
  for (const char* wanted :
       {"BROKEN_ARRANGEMENT", "BROKEN_ARRANGEMENT cash", "BROKEN_ARRANGEMENT direct_debit", "BROKEN_ARRANGEMENT discount",
        "BROKEN_ARRANGEMENT returned", "ARRANGEMENT_COMPLETED", "NO_ARRANGEMENT", "NO_ARRANGEMENT debt_due",
        "NO_ARRANGEMENT arrangement_cancelled", "NO_ARRANGEMENT debt_increased", "REVIEW_DUE", "REVIEW_DUE agency",
        "REVIEW_DUE customer", "UNMATCHED_PAYMENT"})
    EXPECT_GT(activities[wanted], 0) << wanted;

  // Distributions of every kind: payments, returns, discount write-offs.
  std::map<std::string, int> distributions;
  for (const std::string& line : split_lines(read_text(tmp / "out" / "distributions.jsonl")))
    ++distributions[field(line, "kind")];
  for (const char* kind : {"applied", "reversed", "write_off"}) EXPECT_GT(distributions[kind], 0) << kind;
}

// `--batch-memory-mb` reaches the replay: a 1 MiB bound commits many more batches (a
// `paydist verify`-clean state) and the outputs are the default run's, byte for byte.
TEST(GenerateReplay, ABatchMemoryBoundChangesTheBatchesNotTheResult) {
  TempDir tmp;
  const std::string events = (tmp / "events.jsonl").string();
  const testing::Finished generated = run_to_end(
      {kBinary, "generate", "--seed", "3", "--accounts", "3000", "--days", "60", "--out", events}, tmp / "gen", kRunTimeout);
  ASSERT_EQ(generated.status, 0) << generated.err;
  for (const char* name : {"roomy", "bounded"}) {
    fs::create_directories(tmp / name);
    std::vector<std::string> argv = {kBinary, "replay", "--state", (tmp / name / "state").string(),
                                     "--out", (tmp / name / "out").string(), events};
    if (std::string_view{name} == "bounded") argv.insert(argv.begin() + 2, {"--batch-memory-mb", "1"});
    const testing::Finished run = run_to_end(argv, tmp / name / "log", kRunTimeout);
    ASSERT_EQ(run.status, 0) << run.err;
    const testing::Finished verified =
        run_to_end({kBinary, "verify", "--state", (tmp / name / "state").string()}, tmp / name / "verify", kRunTimeout);
    EXPECT_EQ(verified.status, 0) << verified.out << verified.err;
  }
  for (const char* file : {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"}) {
    const std::string roomy = read_text(tmp / "roomy" / "out" / file);
    EXPECT_FALSE(file == std::string_view{"activities.jsonl"} && roomy.empty());
    EXPECT_EQ(read_text(tmp / "bounded" / "out" / file), roomy) << file;
  }
  // The bound did cut the batches: the state took more commits (LMDB's transaction id).
  auto txn_id = [&](const char* name) {
    const testing::Finished stat = run_to_end({"/usr/bin/mdb_stat", "-e", (tmp / name / "state").string()}, tmp / name / "stat", 60s);
    const std::size_t at = stat.out.find("Last transaction ID: ");
    return at == std::string::npos ? 0ull : std::stoull(stat.out.substr(at + 21));
  };
  EXPECT_GT(txn_id("bounded"), txn_id("roomy") + 5);
  const testing::Finished zero =
      run_to_end({kBinary, "replay", "--batch-memory-mb", "0", "--state", (tmp / "z").string(), "--out",
                  (tmp / "zo").string(), events},
                 tmp / "zero", kRunTimeout);
  EXPECT_EQ(zero.status, 2) << zero.err;
  EXPECT_EQ(zero.err.rfind("paydist: ", 0), 0u) << zero.err;
}

TEST(GenerateReplay, UsageErrorsExitTwoWithOneLine) {
  TempDir tmp;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"generate", "--accounts", "5", "--days", "3"},
        std::vector<std::string>{"generate", "--seed", "1", "--accounts", "0", "--days", "3"},
        std::vector<std::string>{"generate", "--seed", "1", "--accounts", "5", "--days", "3", "--bad-share", "501"},
        std::vector<std::string>{"generate", "--seed", "1", "--accounts", "5", "--days", "3", "--start-date",
                                 "2026-02-30"}}) {
    std::vector<std::string> argv = {kBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    const testing::Finished run = run_to_end(argv, tmp / "usage", 60s);
    EXPECT_EQ(run.status, 2) << args.back() << ": " << run.err;
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_EQ(run.err.rfind("paydist: ", 0), 0u) << run.err;
  }
}

}  // namespace
}  // namespace paydist
