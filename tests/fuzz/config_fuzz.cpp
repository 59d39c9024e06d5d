// tests/fuzz/config_fuzz.cpp: libFuzzer target for the TOML configuration loader
// (config/config.h; toml++ compiled in, instrumented, in the fuzz build). One input is one
// file's text. Checked: no crash, no sanitizer report, no exception out of parse_config; an
// error is one line that names the file first; a configuration it accepts holds only values
// inside the documented ranges (docs/decisions.md, "Configuration").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace paydist::fuzz {
namespace {

constexpr std::string_view kSource = "fuzz.toml";

void check_ranges(const Config& c) {
  const Rules& r = c.rules;
  PAYDIST_FUZZ_CHECK(r.currency.size() == 3, "currency {}", r.currency);
  PAYDIST_FUZZ_CHECK(r.cash_grace_days >= 0 && r.cash_grace_days <= 3650, "cash_grace_days {}", r.cash_grace_days);
  PAYDIST_FUZZ_CHECK(r.dd_return_grace_days >= 0 && r.dd_return_grace_days <= 3650, "dd_return_grace_days {}",
                     r.dd_return_grace_days);
  PAYDIST_FUZZ_CHECK(r.review_notice_days >= 0 && r.review_notice_days <= 3650, "review_notice_days {}",
                     r.review_notice_days);
  PAYDIST_FUZZ_CHECK(!r.no_arrangement_threshold.is_negative(), "threshold {}", r.no_arrangement_threshold);
  PAYDIST_FUZZ_CHECK(r.max_instalments >= 1 && r.max_instalments <= 100'000, "max_instalments {}",
                     r.max_instalments);
  PAYDIST_FUZZ_CHECK(r.max_message_bytes >= 1024 && r.max_message_bytes <= (64u << 20), "max_message_bytes {}",
                     r.max_message_bytes);
  PAYDIST_FUZZ_CHECK(r.max_obligations_per_account >= 1 && r.max_arrangements_per_account >= 1 &&
                         r.max_payments_per_account >= 1 && r.max_pending_reviews_per_account >= 1,
                     "a per-account bound of 0");
  PAYDIST_FUZZ_CHECK(r.max_payments_per_account <= 10'000'000, "max_payments_per_account {}",
                     r.max_payments_per_account);
  PAYDIST_FUZZ_CHECK(c.history.entries_per_account <= 100'000, "entries_per_account {}",
                     c.history.entries_per_account);
  PAYDIST_FUZZ_CHECK(c.kafka.embedded_partitions >= 1 && c.kafka.embedded_partitions <= 1024,
                     "embedded_partitions {}", c.kafka.embedded_partitions);
  PAYDIST_FUZZ_CHECK(c.kafka.batch_messages_max >= 1 && c.kafka.batch_interval_ms >= 1 &&
                         c.kafka.outbox_messages_max >= 1,
                     "a kafka bound of 0");
  PAYDIST_FUZZ_CHECK(!c.state.dir.empty() && !c.kafka.brokers.empty() && !c.http.listen.empty(),
                     "an empty text key");
}

}  // namespace
}  // namespace paydist::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace paydist;
  using namespace paydist::fuzz;
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  Result<Config> config = parse_config(text, kSource);
  if (!config) {
    const std::string& error = config.error();
    PAYDIST_FUZZ_CHECK(error.find('\n') == std::string::npos && error.find('\r') == std::string::npos,
                       "error is not one line: {}", error);
    PAYDIST_FUZZ_CHECK(error.starts_with(kSource), "error does not name the file first: {}", error);
    return 0;
  }
  check_ranges(*config);
  return 0;
}
