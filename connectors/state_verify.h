// connectors/state_verify.h: `paydist verify`'s walk over a whole state: every record of every
// database decoded, checked against the others (the deadline index against the accounts,
// events and history against their accounts, the outbox against its counter) and each account
// against core/account_check.h, all in one LMDB read transaction, so it is safe while paydistd
// or a replay writes. It reports what is wrong and never stops the process on it.
//   VerifyReport report = verify_state(*store, rules, VerifyLimits{});
//   for (const std::string& line : report.violations) puts(line.c_str());  // the first 100
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/state_store.h"
#include "core/rules.h"

namespace paydist {

struct VerifyCounts {
  std::uint64_t accounts = 0;
  std::uint64_t payments = 0;
  std::uint64_t deadlines = 0;        // index entries
  std::uint64_t events = 0;           // accepted event ids, both scopes
  std::uint64_t history_entries = 0;
  std::uint64_t outbox_entries = 0;
  std::uint64_t timelines = 0;
  std::uint64_t file_positions = 0;   // replay's input files
  std::uint64_t output_files = 0;     // replay's output file marks
  std::uint64_t input_offsets = 0;    // the daemon's input partitions
};

struct VerifyLimits {
  std::size_t violations_max = 100;  // lines kept in the report; all are counted
};

struct VerifyReport {
  VerifyCounts checked;
  // One line each, naming the database and key: `database 'accounts' key "ACC1": ...`.
  std::vector<std::string> violations;  // the first VerifyLimits::violations_max
  std::uint64_t violations_total = 0;
  bool ok() const { return violations_total == 0; }
};

// `rules` must be the rules the state was written with: an account's next deadline depends on
// the grace and notice periods.
VerifyReport verify_state(StateStore& store, const Rules& rules, const VerifyLimits& limits);

}  // namespace paydist
