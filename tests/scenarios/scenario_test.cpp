// tests/scenarios/scenario_test.cpp: replays the contract's streams (tests/scenarios/*.jsonl)
// through the REAL `paydist` binary and compares inspect and outputs with NAME.expect.json,
// the way tests/scenarios/README.md says. Also: replaying twice adds nothing, and a stream
// split into two files gives the same result. Never links the engine: only the binary.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

extern char** environ;

namespace paydist {
namespace {

namespace fs = std::filesystem;
using simdjson::dom::element;
using simdjson::dom::element_type;

const fs::path kScenarioDir = fs::path(PAYDIST_SOURCE_DIR) / "tests" / "scenarios";
const fs::path kBinary = PAYDIST_BINARY;
// One run of the binary may take this long (Asan builds are slow) before it is killed.
constexpr auto kRunTimeout = std::chrono::seconds{120};
// A readable diff stops after this many differences.
constexpr std::size_t kDiffLinesMax = 30;
// The output files of a replay (contract 5).
constexpr std::string_view kOutputFiles[] = {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"};
// Distribution keys the scenarios pin down (tests/scenarios/README.md).
const std::set<std::string> kDistributionKeys = {"account_id", "payment_id", "kind",
                                                 "business_date", "lines", "credit"};

// ---------------------------------------------------------------------------------------
// Canonical JSON: object keys sorted, compact; array order kept. Two JSON values are equal
// exactly when their canonical strings are.

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += fmt::format("\\u{:04x}", byte);
    } else {
      out += c;
    }
  }
  out += '"';
}

// Named copies: ranging over `value.get_object().value_unsafe()` would dangle (the
// simdjson_result temporary dies before the loop runs).
simdjson::dom::object object_of(element value) { return value.get_object().value_unsafe(); }
simdjson::dom::array array_of(element value) { return value.get_array().value_unsafe(); }

void append_canonical(std::string& out, element value) {
  switch (value.type()) {
    case element_type::OBJECT: {
      std::map<std::string, std::string> fields;  // sorted by key
      for (auto field : object_of(value)) {
        std::string text;
        append_canonical(text, field.value);
        fields.emplace(std::string(field.key), std::move(text));
      }
      out += '{';
      for (auto it = fields.begin(); it != fields.end(); ++it) {
        if (it != fields.begin()) out += ',';
        append_json_string(out, it->first);
        out += ':';
        out += it->second;
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (element item : array_of(value)) {
        if (!first) out += ',';
        first = false;
        append_canonical(out, item);
      }
      out += ']';
      return;
    }
    case element_type::STRING: append_json_string(out, value.get_string().value_unsafe()); return;
    case element_type::INT64: out += std::to_string(value.get_int64().value_unsafe()); return;
    case element_type::UINT64: out += std::to_string(value.get_uint64().value_unsafe()); return;
    case element_type::DOUBLE: out += fmt::format("{}", value.get_double().value_unsafe()); return;
    case element_type::BOOL: out += value.get_bool().value_unsafe() ? "true" : "false"; return;
    case element_type::NULL_VALUE: out += "null"; return;
  }
}

std::string canonical(element value) {
  std::string out;
  append_canonical(out, value);
  return out;
}

// Parses text into parser's document; records a test failure naming `what` when invalid.
bool parse_json(simdjson::dom::parser& parser, const std::string& text, const std::string& what, element& out) {
  auto error = parser.parse(text).get(out);
  if (error) ADD_FAILURE() << what << ": not valid JSON (" << simdjson::error_message(error) << "): " << text;
  return !error;
}

// Keeps only the given keys of an object (the others are the project's own business).
std::string canonical_projection(element object, const std::set<std::string>& keep) {
  std::string out = "{";
  std::map<std::string, std::string> fields;
  for (auto field : object_of(object))
    if (keep.count(std::string(field.key))) fields.emplace(std::string(field.key), canonical(field.value));
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it != fields.begin()) out += ',';
    append_json_string(out, it->first);
    out += ':' + it->second;
  }
  return out + '}';
}

std::string canonical_without(element object, const std::string& drop) {
  std::set<std::string> keep;
  for (auto field : object_of(object))
    if (field.key != drop) keep.emplace(field.key);
  return canonical_projection(object, keep);
}

// ---------------------------------------------------------------------------------------
// Readable differences: one line per differing JSON path.

void diff_values(element expected, element actual, const std::string& path, std::vector<std::string>& lines) {
  if (lines.size() >= kDiffLinesMax) return;
  const bool both_objects = expected.type() == element_type::OBJECT && actual.type() == element_type::OBJECT;
  const bool both_arrays = expected.type() == element_type::ARRAY && actual.type() == element_type::ARRAY;
  if (both_objects) {
    std::map<std::string, element> want, got;
    for (auto f : object_of(expected)) want.emplace(std::string(f.key), f.value);
    for (auto f : object_of(actual)) got.emplace(std::string(f.key), f.value);
    for (const auto& [key, value] : want) {
      auto it = got.find(key);
      if (it == got.end())
        lines.push_back(fmt::format("{}.{}: missing (expected {})", path, key, canonical(value)));
      else
        diff_values(value, it->second, path + "." + key, lines);
    }
    for (const auto& [key, value] : got)
      if (!want.count(key)) lines.push_back(fmt::format("{}.{}: unexpected {}", path, key, canonical(value)));
  } else if (both_arrays) {
    std::vector<element> want, got;
    for (element e : array_of(expected)) want.push_back(e);
    for (element e : array_of(actual)) got.push_back(e);
    for (std::size_t i = 0; i < std::min(want.size(), got.size()); ++i)
      diff_values(want[i], got[i], fmt::format("{}[{}]", path, i), lines);
    for (std::size_t i = got.size(); i < want.size(); ++i)
      lines.push_back(fmt::format("{}[{}]: missing (expected {})", path, i, canonical(want[i])));
    for (std::size_t i = want.size(); i < got.size(); ++i)
      lines.push_back(fmt::format("{}[{}]: unexpected {}", path, i, canonical(got[i])));
  } else if (canonical(expected) != canonical(actual)) {
    lines.push_back(fmt::format("{}: expected {}, got {}", path, canonical(expected), canonical(actual)));
  }
}

std::string json_diff(const std::string& expected, const std::string& actual) {
  simdjson::dom::parser want_parser, got_parser;
  element want, got;
  if (want_parser.parse(expected).get(want) || got_parser.parse(actual).get(got)) return "(not JSON)";
  std::vector<std::string> lines;
  diff_values(want, got, "$", lines);
  std::string out;
  for (const std::string& line : lines) out += "    " + line + "\n";
  return out;
}

// Multisets as sorted vectors; the diff lists what is missing and what is extra.
std::string multiset_diff(std::vector<std::string> expected, std::vector<std::string> actual) {
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(), std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(), std::back_inserter(extra));
  std::string out;
  for (const std::string& m : missing) out += "    expected, not produced: " + m + "\n";
  for (const std::string& e : extra) out += "    produced, not expected: " + e + "\n";
  return out;
}

// ---------------------------------------------------------------------------------------
// Files and processes.

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Non-blank lines of a JSONL file; a file that does not exist has none.
std::vector<std::string> jsonl_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  return lines;
}

// The file's lines, each with its line ending, so that a split keeps the exact bytes.
std::vector<std::string> physical_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// A unique directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "paydist-scenario-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

struct RunResult {
  int exit_status = -1;  // -1: killed by a signal or by the timeout
  std::string out;
  std::string err;
  std::string command;
};

std::string describe(const RunResult& run) {
  return fmt::format("`{}` exited with {}; stderr:\n{}", run.command, run.exit_status, run.err);
}

// Runs the paydist binary with args (no shell: no quoting), stdin from /dev/null, stdout
// and stderr captured through files in scratch. Bounded by kRunTimeout.
RunResult run_paydist(const std::vector<std::string>& args, const fs::path& scratch) {
  RunResult result;
  std::vector<std::string> argv_text = {kBinary.string()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  for (const std::string& a : argv_text) result.command += (result.command.empty() ? "" : " ") + a;
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);

  const fs::path out_path = scratch / "run.stdout", err_path = scratch / "run.stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int spawn_error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    result.err = fmt::format("cannot start {}: {}", kBinary.string(), std::strerror(spawn_error));
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + kRunTimeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.err = "killed after the timeout\n";
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  result.out = read_file(out_path);
  result.err += read_file(err_path);
  return result;
}

// ---------------------------------------------------------------------------------------
// What a run produced, in the shapes the expect files use.

struct Produced {
  std::vector<std::string> activities;     // canonical, without activity_id
  std::vector<std::string> activity_ids;
  std::vector<std::string> distributions;  // canonical projections
  std::vector<std::int64_t> rejected_lines;
};

// Parses PATH:LINE, checking PATH is one of the paths given to replay.
std::int64_t reject_line(std::string_view source, const std::vector<std::string>& inputs) {
  const std::size_t colon = source.rfind(':');
  if (colon == std::string_view::npos) {
    ADD_FAILURE() << "reject source without a line: " << source;
    return -1;
  }
  const std::string path(source.substr(0, colon));
  EXPECT_NE(std::find(inputs.begin(), inputs.end(), path), inputs.end())
      << "reject source " << source << " does not start with an input path as given";
  std::int64_t line = 0;
  for (char c : source.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      ADD_FAILURE() << "reject source with a bad line number: " << source;
      return -1;
    }
    line = line * 10 + (c - '0');
  }
  return line;
}

Produced read_outputs(const fs::path& out_dir, const std::vector<std::string>& inputs) {
  Produced produced;
  simdjson::dom::parser parser;
  element doc;
  for (const std::string& line : jsonl_lines(out_dir / "activities.jsonl")) {
    if (!parse_json(parser, line, "activities.jsonl", doc)) continue;
    std::string_view id;
    if (doc["activity_id"].get_string().get(id) || id.empty())
      ADD_FAILURE() << "activity without a non-empty string activity_id: " << line;
    produced.activity_ids.emplace_back(id);
    produced.activities.push_back(canonical_without(doc, "activity_id"));
  }
  for (const std::string& line : jsonl_lines(out_dir / "distributions.jsonl"))
    if (parse_json(parser, line, "distributions.jsonl", doc))
      produced.distributions.push_back(canonical_projection(doc, kDistributionKeys));
  for (const std::string& line : jsonl_lines(out_dir / "rejects.jsonl")) {
    if (!parse_json(parser, line, "rejects.jsonl", doc)) continue;
    std::string_view source;
    if (doc["source"].get_string().get(source))
      ADD_FAILURE() << "reject without a string source: " << line;
    else
      produced.rejected_lines.push_back(reject_line(source, inputs));
  }
  return produced;
}

struct Expected {
  std::map<std::string, std::string> accounts;  // account_id -> canonical inspect output
  std::vector<std::string> activities;
  std::vector<std::string> distributions;
  std::vector<std::int64_t> rejected_lines;
};

Expected read_expected(const fs::path& path) {
  Expected expected;
  simdjson::dom::parser parser;
  element doc;
  if (!parse_json(parser, read_file(path), path.string(), doc)) return expected;
  simdjson::dom::object accounts;
  simdjson::dom::array activities, distributions, rejected;
  if (doc["accounts"].get(accounts) || doc["activities"].get(activities) ||
      doc["distributions"].get(distributions) || doc["rejected_lines"].get(rejected)) {
    ADD_FAILURE() << path << ": needs accounts, activities, distributions and rejected_lines";
    return expected;
  }
  for (auto field : accounts) expected.accounts.emplace(std::string(field.key), canonical(field.value));
  for (element a : activities) expected.activities.push_back(canonical_without(a, "activity_id"));
  for (element d : distributions) expected.distributions.push_back(canonical_projection(d, kDistributionKeys));
  for (element r : rejected) expected.rejected_lines.push_back(r.get_int64().value_unsafe());
  return expected;
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(kScenarioDir, error))
    if (entry.path().extension() == ".jsonl") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

fs::path scenario_file(const std::string& name) { return kScenarioDir / (name + ".jsonl"); }

// ---------------------------------------------------------------------------------------
// Replay and inspect steps, as gtest assertions.

void replay(const TempDir& tmp, const std::vector<std::string>& inputs, const std::string& state = "state",
            const std::string& out = "out") {
  std::vector<std::string> args = {"replay", "--state", (tmp / state).string(), "--out", (tmp / out).string()};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const RunResult run = run_paydist(args, tmp.path());
  ASSERT_EQ(run.exit_status, 0) << describe(run);
}

// Canonical inspect output of one account, or "" after recording a failure.
std::string inspect(const TempDir& tmp, const std::string& account_id, const std::string& state = "state") {
  const RunResult run = run_paydist({"inspect", "--state", (tmp / state).string(), "account", account_id}, tmp.path());
  EXPECT_EQ(run.exit_status, 0) << describe(run);
  if (run.exit_status != 0) return "";
  simdjson::dom::parser parser;
  element doc;
  return parse_json(parser, run.out, "inspect account " + account_id, doc) ? canonical(doc) : "";
}

void expect_same_json(const std::string& want, const std::string& got, const std::string& what) {
  if (got != want)
    ADD_FAILURE() << what << " differs:\n" << json_diff(want, got) << "  expected: " << want << "\n  actual:   " << got;
}

std::string output_bytes(const TempDir& tmp, const std::string& out, std::string_view file) {
  return read_file(tmp / out / std::string(file));
}

std::string scenario_test_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

class Scenario : public ::testing::TestWithParam<std::string> {};

TEST_P(Scenario, MatchesExpectations) {
  ASSERT_TRUE(fs::exists(kBinary)) << "paydist binary not built: " << kBinary;
  const Expected expected = read_expected(kScenarioDir / (GetParam() + ".expect.json"));
  TempDir tmp;
  const std::vector<std::string> inputs = {scenario_file(GetParam()).string()};
  ASSERT_NO_FATAL_FAILURE(replay(tmp, inputs));

  for (const auto& [account_id, want] : expected.accounts)
    expect_same_json(want, inspect(tmp, account_id), "inspect account " + account_id);

  const Produced produced = read_outputs(tmp / "out", inputs);
  const std::string activities = multiset_diff(expected.activities, produced.activities);
  EXPECT_TRUE(activities.empty()) << "activities differ (activity_id dropped):\n" << activities;
  const std::string distributions = multiset_diff(expected.distributions, produced.distributions);
  EXPECT_TRUE(distributions.empty()) << "distributions differ (scenario keys only):\n" << distributions;
  std::vector<std::int64_t> want_rejects = expected.rejected_lines, got_rejects = produced.rejected_lines;
  std::sort(want_rejects.begin(), want_rejects.end());
  std::sort(got_rejects.begin(), got_rejects.end());
  EXPECT_EQ(got_rejects, want_rejects) << "rejected lines differ";
  const std::set<std::string> unique_ids(produced.activity_ids.begin(), produced.activity_ids.end());
  EXPECT_EQ(unique_ids.size(), produced.activity_ids.size()) << "activity_ids are not unique";
}

// contract 5: replaying the same file again on the same state adds nothing.
TEST_P(Scenario, ReplayTwiceAddsNothing) {
  ASSERT_TRUE(fs::exists(kBinary)) << "paydist binary not built: " << kBinary;
  const Expected expected = read_expected(kScenarioDir / (GetParam() + ".expect.json"));
  TempDir tmp;
  const std::vector<std::string> inputs = {scenario_file(GetParam()).string()};
  ASSERT_NO_FATAL_FAILURE(replay(tmp, inputs));
  std::map<std::string, std::string> first_outputs, first_accounts;
  for (std::string_view file : kOutputFiles) first_outputs[std::string(file)] = output_bytes(tmp, "out", file);
  for (const auto& [account_id, unused] : expected.accounts) first_accounts[account_id] = inspect(tmp, account_id);

  ASSERT_NO_FATAL_FAILURE(replay(tmp, inputs));
  for (std::string_view file : kOutputFiles)
    EXPECT_EQ(output_bytes(tmp, "out", file), first_outputs[std::string(file)]) << file << " changed on replay";
  for (const auto& [account_id, first] : first_accounts)
    expect_same_json(first, inspect(tmp, account_id), "after a second replay, inspect account " + account_id);
}

INSTANTIATE_TEST_SUITE_P(Contract, Scenario, ::testing::ValuesIn(scenario_names()),
                         scenario_test_name);

// ---------------------------------------------------------------------------------------
// contract 6, "Outputs and files": a file is read like a partition, so a stream split in
// two files (replayed in one run, or in two runs) gives what the whole file gives. Reject
// sources differ by construction; they are compared as (global line, error, event).

struct SplitCase {
  std::string scenario;
  std::size_t first_part_lines;
};

// How gtest names a case in its output (instead of a dump of the struct's bytes).
void PrintTo(const SplitCase& split, std::ostream* out) {
  *out << split.scenario << " split after line " << split.first_part_lines;
}

std::vector<std::string> comparable_rejects(const TempDir& tmp, const std::string& out,
                                            const std::vector<std::string>& inputs,
                                            const std::vector<std::size_t>& line_offsets) {
  std::vector<std::string> rejects;
  simdjson::dom::parser parser;
  element doc;
  for (const std::string& line : jsonl_lines(tmp / out / "rejects.jsonl")) {
    if (!parse_json(parser, line, "rejects.jsonl", doc)) continue;
    std::string_view source;
    if (doc["source"].get_string().get(source)) {
      ADD_FAILURE() << "reject without a string source: " << line;
      continue;
    }
    const std::string path(source.substr(0, source.rfind(':')));
    const auto input = std::find(inputs.begin(), inputs.end(), path);
    const std::size_t offset = input == inputs.end() ? 0 : line_offsets[static_cast<std::size_t>(input - inputs.begin())];
    const std::int64_t global_line = reject_line(source, inputs) + static_cast<std::int64_t>(offset);
    rejects.push_back(fmt::format("line {}: {}", global_line, canonical_without(doc, "source")));
  }
  return rejects;
}

class SplitStream : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitStream, GivesTheSameResultAsOneFile) {
  ASSERT_TRUE(fs::exists(kBinary)) << "paydist binary not built: " << kBinary;
  const SplitCase& split = GetParam();
  const Expected expected = read_expected(kScenarioDir / (split.scenario + ".expect.json"));
  const std::vector<std::string> lines = physical_lines(read_file(scenario_file(split.scenario)));
  ASSERT_LT(split.first_part_lines, lines.size());
  TempDir tmp;
  std::string first, second;
  for (std::size_t i = 0; i < lines.size(); ++i) (i < split.first_part_lines ? first : second) += lines[i];
  const std::string whole_path = (tmp / "whole.jsonl").string(), first_path = (tmp / "part1.jsonl").string(),
                    second_path = (tmp / "part2.jsonl").string();
  ASSERT_NO_FATAL_FAILURE(write_file(whole_path, first + second));
  ASSERT_NO_FATAL_FAILURE(write_file(first_path, first));
  ASSERT_NO_FATAL_FAILURE(write_file(second_path, second));

  const std::vector<std::string> whole = {whole_path}, parts = {first_path, second_path};
  const std::vector<std::size_t> whole_offsets = {0}, part_offsets = {0, split.first_part_lines};
  ASSERT_NO_FATAL_FAILURE(replay(tmp, whole, "state-whole", "out-whole"));
  ASSERT_NO_FATAL_FAILURE(replay(tmp, parts, "state-one-run", "out-one-run"));
  ASSERT_NO_FATAL_FAILURE(replay(tmp, {first_path}, "state-two-runs", "out-two-runs"));
  ASSERT_NO_FATAL_FAILURE(replay(tmp, {second_path}, "state-two-runs", "out-two-runs"));

  const auto reference_rejects = comparable_rejects(tmp, "out-whole", whole, whole_offsets);
  for (const std::string variant : {"one-run", "two-runs"}) {
    SCOPED_TRACE(variant);
    for (const std::string file : {"activities.jsonl", "distributions.jsonl"})
      EXPECT_EQ(output_bytes(tmp, "out-" + variant, file), output_bytes(tmp, "out-whole", file)) << file;
    EXPECT_EQ(comparable_rejects(tmp, "out-" + variant, parts, part_offsets), reference_rejects);
    for (const auto& [account_id, unused] : expected.accounts)
      expect_same_json(inspect(tmp, account_id, "state-whole"), inspect(tmp, account_id, "state-" + variant),
                       "inspect account " + account_id);
  }
}

std::vector<SplitCase> split_cases() {
  std::vector<SplitCase> cases;
  for (const std::string scenario : {"06_dd_return", "12_recommend_review"}) {
    const std::size_t line_count = physical_lines(read_file(scenario_file(scenario))).size();
    if (line_count < 3) continue;
    for (std::size_t at : {std::size_t{1}, line_count / 2, line_count - 1}) cases.push_back({scenario, at});
  }
  return cases;
}

std::string split_test_name(const ::testing::TestParamInfo<SplitCase>& param) {
  return fmt::format("{}_after_line_{}", param.param.scenario, param.param.first_part_lines);
}

INSTANTIATE_TEST_SUITE_P(Contract, SplitStream, ::testing::ValuesIn(split_cases()),
                         split_test_name);

// `paydist inspect accounts`: every account, one line each, as `inspect account` prints it,
// in account id order.
TEST(InspectAccounts, PrintsEveryAccountAsInspectAccountDoesInIdOrder) {
  TempDir tmp;
  replay(tmp, {scenario_file("09_no_arrangement_cancel").string()});
  const RunResult all = run_paydist({"inspect", "--state", (tmp / "state").string(), "accounts"}, tmp.path());
  ASSERT_EQ(all.exit_status, 0) << describe(all);
  std::vector<std::string> ids;
  std::istringstream lines{all.out};
  for (std::string line; std::getline(lines, line);) {
    const std::string prefix = R"({"account_id":")";
    ASSERT_TRUE(line.starts_with(prefix)) << line;
    ids.push_back(line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size()));
    simdjson::dom::parser parser;
    element doc;
    ASSERT_TRUE(parse_json(parser, line, "inspect accounts line", doc));
    EXPECT_EQ(canonical(doc), inspect(tmp, ids.back())) << ids.back();
  }
  EXPECT_GE(ids.size(), 3u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  const RunResult no_state = run_paydist({"inspect", "--state", (tmp / "missing").string(), "accounts"}, tmp.path());
  EXPECT_EQ(no_state.exit_status, 1) << describe(no_state);
}

// ---------------------------------------------------------------------------------------
// `paydist explain`: the audit history kept in the state, for people.

RunResult explain(const TempDir& tmp, const std::string& account_id, const std::string& state = "state") {
  return run_paydist({"explain", "--state", (tmp / state).string(), "account", account_id}, tmp.path());
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(Explain, TellsWhyADirectDebitArrangementBroke) {
  TempDir tmp;
  replay(tmp, {scenario_file("06_dd_return").string()});
  const RunResult run = explain(tmp, "ACC6A");
  ASSERT_EQ(run.exit_status, 0) << describe(run);
  EXPECT_TRUE(run.out.starts_with("account ACC6A: history entries 1 to 6 of 6\n")) << run.out;
  // Each accepted message in order, then the deadline, with the rule that fired.
  const std::size_t paid = run.out.find("#4 [2026-03-02] payment s06-7: PA1 of 250.00 by direct_debit");
  const std::size_t returned = run.out.find("#5 [2026-03-04] payment_returned s06-9: PA1 returned 2026-03-04 with reason MD06");
  const std::size_t broke = run.out.find("#6 [2026-03-07] business date passed the deadline of 2026-03-07");
  ASSERT_NE(paid, std::string::npos) << run.out;
  ASSERT_NE(returned, std::string::npos) << run.out;
  ASSERT_NE(broke, std::string::npos) << run.out;
  EXPECT_LT(paid, returned);
  EXPECT_LT(returned, broke);
  EXPECT_TRUE(contains(run.out, "arrangement RA1 status current -> broken")) << run.out;
  EXPECT_TRUE(contains(run.out, "rule: direct debit returned 2026-03-04 with reason MD06, not paid again within 3 days"))
      << run.out;
}

TEST(Explain, ARedeliveredMessageAddsNoEntry) {
  TempDir tmp;
  replay(tmp, {scenario_file("06_dd_return").string()});
  const RunResult once = explain(tmp, "ACC6B");
  replay(tmp, {scenario_file("06_dd_return").string()}, "state", "out2");
  const RunResult twice = explain(tmp, "ACC6B");
  ASSERT_EQ(once.exit_status, 0) << describe(once);
  EXPECT_EQ(twice.out, once.out);
}

TEST(Explain, KeepsTheNewestEntriesThatTheConfigurationAllows) {
  TempDir tmp;
  write_file(tmp / "keep2.toml", "[history]\nentries_per_account = 2\n");
  write_file(tmp / "keep0.toml", "[history]\nentries_per_account = 0\n");
  const std::string input = scenario_file("06_dd_return").string();
  replay(tmp, {input});
  for (const char* config : {"keep2.toml", "keep0.toml"}) {
    const std::string state = std::string{"state-"} + config, out = std::string{"out-"} + config;
    const RunResult run = run_paydist(
        {"replay", "--config", (tmp / config).string(), "--state", (tmp / state).string(), "--out", (tmp / out).string(), input},
        tmp.path());
    ASSERT_EQ(run.exit_status, 0) << describe(run);
    // The history changes nothing else: same outputs, same account.
    for (const char* file : {"activities.jsonl", "distributions.jsonl", "rejects.jsonl"})
      EXPECT_EQ(read_file(tmp / out / file), read_file(tmp / "out" / file)) << config << " " << file;
    EXPECT_EQ(inspect(tmp, "ACC6A", state), inspect(tmp, "ACC6A"));
  }
  const RunResult two = explain(tmp, "ACC6A", "state-keep2.toml");
  ASSERT_EQ(two.exit_status, 0) << describe(two);
  EXPECT_TRUE(two.out.starts_with("account ACC6A: history entries 5 to 6 of 6 (the 4 older ones are past the retention"))
      << two.out;
  EXPECT_FALSE(contains(two.out, "#4 ")) << two.out;
  EXPECT_TRUE(contains(two.out, "#6 [2026-03-07]")) << two.out;
  const RunResult none = explain(tmp, "ACC6A", "state-keep0.toml");
  ASSERT_EQ(none.exit_status, 0) << describe(none);
  EXPECT_EQ(none.out, "account ACC6A: no history kept (0 entries written; [history] entries_per_account may be 0)\n");
}

TEST(Explain, UnknownAccountsAndStatesAreClearErrors) {
  TempDir tmp;
  replay(tmp, {scenario_file("06_dd_return").string()});
  const RunResult unknown = explain(tmp, "ACC404");
  EXPECT_EQ(unknown.exit_status, 1);
  EXPECT_TRUE(contains(unknown.err, "unknown account ACC404")) << unknown.err;
  const RunResult bad_id = explain(tmp, "bad id!");
  EXPECT_EQ(bad_id.exit_status, 2) << describe(bad_id);
  const RunResult no_state = explain(tmp, "ACC6A", "missing");
  EXPECT_EQ(no_state.exit_status, 1);
  EXPECT_TRUE(contains(no_state.err, "no state at")) << no_state.err;
  const RunResult no_account = run_paydist({"explain", "--state", (tmp / "state").string(), "account"}, tmp.path());
  EXPECT_EQ(no_account.exit_status, 2);
}

}  // namespace
}  // namespace paydist
