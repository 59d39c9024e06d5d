// tests/support/replay_compare.h: comparing what the daemon published and holds with what
// `paydist replay` gives for the same lines (daemon_fixture.h, the crash campaign, the
// scale-out test).
//   std::vector<std::string> want = replay_outputs_on_topics(read_text(out / "rejects.jsonl"), 3);
//   EXPECT_EQ(without_source(got), without_source(want));
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace paydist::testing {

// Rejects name their source (file:line against topic/partition/offset): compared without
// it. Sorted.
inline std::vector<std::string> without_source(std::vector<std::string> lines) {
  const std::string prefix = R"({"source":")";
  for (std::string& line : lines)
    if (line.rfind(prefix, 0) == 0) line = "{" + line.substr(line.find("\",", prefix.size()) + 2);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Replay's output lines (a file's text) as the output topics carry them: contract 2 sends a
// business_date message to every one of `partitions`, so a bad one is rejected once in each.
inline std::vector<std::string> replay_outputs_on_topics(const std::string& text, int partitions) {
  std::vector<std::string> out;
  for (const std::string& line : split_lines(text)) {
    const bool broadcast = line.find(R"(\"type\":\"business_date\")") != std::string::npos;
    out.insert(out.end(), broadcast ? partitions : 1, line);
  }
  return out;
}

// `paydist inspect accounts` output by account id (each line opens with {"account_id":"ID").
inline std::map<std::string, std::string> by_account(const std::string& text) {
  std::map<std::string, std::string> accounts;
  const std::string prefix = R"({"account_id":")";
  for (const std::string& line : split_lines(text)) {
    EXPECT_EQ(line.rfind(prefix, 0), 0u) << line;
    accounts[line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size())] = line;
  }
  return accounts;
}

}  // namespace paydist::testing
