// daemon/generate.h: `paydist generate`, a seeded, deterministic, realistic input stream
// (contract 2, one JSON message a line) for demos, tests and benchmarks. Standard library
// and fmt only; no clock, no global state: the same options always give the same bytes.
//   StringSink sink;  GenerateSummary summary;
//   generate_events(GenerateOptions{.seed = 7, .accounts = 500, .days = 90}, sink, summary);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paydist {

// The eleven input message types of contract 2, in the contract's order.
enum class LineType : std::uint8_t {
  obligation_assessed,
  obligation_adjusted,
  arrangement_created,
  arrangement_activated,
  arrangement_updated,
  instalment_skipped,
  arrangement_review,
  arrangement_cancelled,
  payment,
  payment_returned,
  business_date,
};
inline constexpr std::size_t kLineTypes = 11;
const char* to_string(LineType type);

// What is wrong with a bad line; each kind must be rejected whatever the state holds.
enum class BadKind : std::uint8_t {
  truncated_json,
  not_json,
  missing_field,
  bad_money,
  bad_date,
  unknown_account_return,
  unknown_payment_return,
  repeated_return,
  unknown_type,
  wrong_currency,
  bad_id,
  missing_event_id,
  repeated_key,
  adjustment_below_zero,
  unknown_obligation,
  older_business_date,
  bad_arrangement,
  unknown_arrangement,
  repeated_payment_id,
};
inline constexpr std::size_t kBadKinds = 19;
const char* to_string(BadKind kind);

// Bounds of the options (the command line checks them; generate_events asserts them).
// Memory grows with the accounts: about 560 bytes each (10M accounts: about 5.6 GB).
inline constexpr std::uint64_t kGenerateAccountsMax = 10'000'000;
inline constexpr std::uint32_t kGenerateDaysMax = 3660;
inline constexpr std::uint32_t kBadPermilleMax = 500;

struct GenerateOptions {
  std::uint64_t seed = 1;
  std::uint64_t accounts = 1000;
  std::uint32_t days = 90;
  std::int32_t start_day = 20454;   // days since 1970-01-01: 2026-01-01, the first business date
  std::uint32_t bad_permille = 3;   // share of bad lines in the whole stream, per thousand
  bool record_bad_lines = false;    // fill GenerateSummary::bad_line_numbers (tests)
};

struct GenerateSummary {
  std::uint64_t lines = 0;         // all of them: good, repeated and bad
  std::uint64_t bad_lines = 0;     // lines paydist must reject
  std::uint64_t redeliveries = 0;  // exact repeats of an accepted line: silent no-ops
  std::uint32_t days_done = 0;
  std::array<std::uint64_t, kLineTypes> good_by_type{};
  std::array<std::uint64_t, kBadKinds> bad_by_kind{};
  std::array<std::uint64_t, 3> arrangements_by_kind{};  // cash, direct_debit, discount
  std::uint64_t schedules = 0;                          // arrangement_created with a schedule
  std::uint64_t recommends = 0;                         // ... with a recommend rule
  std::vector<std::uint64_t> bad_line_numbers;          // 1-based, when record_bad_lines
};

// Where the bytes go, in chunks of whole lines. write returns false when it failed (the
// generator stops at once).
class LineSink {
 public:
  virtual ~LineSink() = default;
  virtual bool write(std::string_view bytes) = 0;
};

class StringSink final : public LineSink {
 public:
  bool write(std::string_view bytes) override {
    text.append(bytes);
    return true;
  }
  std::string text;
};

// Called after each simulated day (for a progress line).
using GenerateProgress = std::function<void(const GenerateSummary&)>;

// Writes the whole stream into sink. false: the sink failed (summary says how far it got).
bool generate_events(const GenerateOptions& options, LineSink& sink, GenerateSummary& summary,
                     const GenerateProgress& on_day = {});

// "YYYY-MM-DD" (a valid date from 1000-01-01 to 8999-12-31) to days since 1970-01-01.
std::optional<std::int32_t> parse_generate_date(std::string_view text);

}  // namespace paydist
