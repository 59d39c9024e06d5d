// connectors/codec.h: JSON in and out. Decodes one input line into a validated Message
// (contract 1, 2 and 6: strict JSON, every field's type and range) and encodes outputs and
// `inspect` as compact JSON. Decides no business rule: it checks form, not state.
//   Decoder decoder{rules};
//   DecodedLine d = decoder.decode(line);   // d.envelope_ok, d.message (Result<Message>)
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/account.h"
#include "core/messages.h"
#include "core/outputs.h"
#include "core/result.h"
#include "core/rules.h"

namespace paydist {

struct DecodedLine {
  // The envelope checks of contract 6, in order: size, UTF-8 (no BOM), JSON, object,
  // valid event_id. When they fail, `message` holds the reason and nothing else is set.
  bool envelope_ok = false;
  EventId event_id;
  bool business_date_scope = false;      // "type" is the string "business_date"
  std::optional<AccountId> account_id;   // a valid account_id, when present
  Result<Message> message = Error{"not decoded"};
};

class Decoder {
 public:
  explicit Decoder(const Rules& rules);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Reuses its parser buffers between calls: one Decoder per thread.
  DecodedLine decode(std::string_view line);
  // The same for a message whose text was cut short where it was read (only ever above
  // max_message_bytes): `size_as_sent` is its real size, which the size check and its
  // reason use (contract 6: rejected unread).
  DecodedLine decode(std::string_view line, std::size_t size_as_sent);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Output encoders append one compact JSON object (no newline) to `out`.
void append_activity_json(std::string& out, const Activity& activity);
void append_distribution_json(std::string& out, const Distribution& distribution);
// contract 4: {"source", "error", "event"}; the raw text is cut at 64 KiB (on a UTF-8
// boundary) and escaped so the output stays valid JSON whatever the input was.
void append_reject_json(std::string& out, std::string_view source, std::string_view error,
                        std::string_view raw);
// contract 5: the `paydist inspect` object for one account.
std::string inspect_json(const Account& account, std::optional<Date> business_date, const Rules& rules);

}  // namespace paydist
