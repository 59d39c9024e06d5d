// tests/fuzz/message_fuzz.cpp: libFuzzer target for the input decoder (connectors/codec.h).
// One input is one message, bytes as they come (a file line or a Kafka value). Checked for
// every input: no crash, no sanitizer report, and it is accepted or rejected with a one-line
// reason whose reject record is valid JSON (contract 4, 6). For an accepted message: its
// envelope agrees with it, and written back as JSON (message_text.h) it decodes to the same
// message (the round trip). Decoding the same bytes twice gives the same answer (the
// decoder reuses its buffers). A second decoder with tight limits must never accept what
// the default one rejects, and what it accepts must be the same message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/message_text.h"

namespace paydist::fuzz {
namespace {

// Limits small enough that the fuzzer reaches "too long", "too many" and "too big" quickly.
Rules tight_rules() {
  Rules rules;
  rules.max_message_bytes = 2048;
  rules.max_instalments = 3;
  rules.max_obligations_per_account = 3;
  return rules;
}

// The answer of a decode in a comparable form: the reason, or the message's text.
std::string outcome(const DecodedLine& d) {
  if (!d.message) return "rejected: " + d.message.error();
  return "accepted: " + message_text(*d.message);
}

void check_reject(const DecodedLine& d, std::string_view line) {
  const std::string& reason = d.message.error();
  PAYDIST_FUZZ_CHECK(is_one_line_reason(reason), "reason is not one line of text: {}", reason);
  std::string record;
  append_reject_json(record, "fuzz:1", reason, line);
  PAYDIST_FUZZ_CHECK(is_json_object_line(record), "reject record is not one JSON object line: {}", record);
}

void check_accepted(const DecodedLine& d) {
  const Message& m = *d.message;
  PAYDIST_FUZZ_CHECK(d.envelope_ok, "accepted without a valid envelope: {}", message_text(m));
  PAYDIST_FUZZ_CHECK(d.event_id == event_id_of(m), "envelope event_id {} != message's", d.event_id);
  const AccountId* account = account_id_of(m);
  PAYDIST_FUZZ_CHECK(d.business_date_scope == (account == nullptr), "business_date scope disagrees: {}",
                     message_text(m));
  if (account != nullptr) {
    PAYDIST_FUZZ_CHECK(d.account_id && *d.account_id == *account, "envelope account_id disagrees: {}",
                       message_text(m));
  }
}

void check_round_trip(Decoder& decoder, const DecodedLine& d) {
  const std::string text = message_text(*d.message);
  const DecodedLine again = decoder.decode(text);
  PAYDIST_FUZZ_CHECK(again.message, "written back, the message is rejected: {} ({})", text,
                     again.message ? std::string{} : again.message.error());
  const std::string text_again = message_text(*again.message);
  PAYDIST_FUZZ_CHECK(text_again == text, "round trip changed the message:\n  {}\n  {}", text, text_again);
}

}  // namespace
}  // namespace paydist::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace paydist;
  using namespace paydist::fuzz;
  static const Rules default_rules;
  static const Rules tight = tight_rules();
  static Decoder decoder{default_rules};
  static Decoder tight_decoder{tight};
  const std::string_view line{reinterpret_cast<const char*>(data), size};

  const DecodedLine d = decoder.decode(line);
  if (!d.message) {
    check_reject(d, line);
  } else {
    check_accepted(d);
    check_round_trip(decoder, d);
  }
  const std::string first = outcome(d);
  const std::string second = outcome(decoder.decode(line));
  PAYDIST_FUZZ_CHECK(first == second, "the same bytes decoded twice differ:\n  {}\n  {}", first, second);

  const DecodedLine t = tight_decoder.decode(line);
  if (!t.message) {
    check_reject(t, line);
  } else {
    check_accepted(t);
    PAYDIST_FUZZ_CHECK(outcome(t) == first, "tight limits accept what default limits do not:\n  {}\n  {}",
                       outcome(t), first);
  }
  return 0;
}
