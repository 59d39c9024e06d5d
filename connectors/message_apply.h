// connectors/message_apply.h: contract 6's input handling for one decoded input message,
// shared by the file connector (`paydist replay`) and the daemon, so that both give the same
// results for the same lines: envelope checks, the redelivery check, then the engine; the
// outputs or the reject go to the batch's outbox. Decides no rule itself (the core does).
//   MessageApplier applier{rules};
//   MessageOutcome o = applier.apply(batch, decoded, text, {"events.jsonl", ':', 17});
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/codec.h"
#include "connectors/state_store.h"
#include "core/rules.h"

namespace paydist {

enum class MessageOutcome : std::uint8_t { accepted, rejected, duplicate };

// Where a message came from, for a reject's `source` (contract 4): `PATH:LINE` for a file,
// `topic/partition/offset` for Kafka. Formatted only when a reject needs it.
struct MessageSource {
  std::string_view prefix;  // "PATH" or "topic/partition"
  char separator = ':';
  std::uint64_t position = 0;  // line number or offset
};

class MessageApplier {
 public:
  explicit MessageApplier(const Rules& rules) : rules_(rules) {}

  // Applies one non-blank message (as `decoded` from `text`) to the batch's current
  // timeline: outputs (activities, distributions) or its reject join the batch's outbox.
  MessageOutcome apply(StateStore::Batch& batch, const DecodedLine& decoded, std::string_view text,
                       const MessageSource& source);

 private:
  void reject(StateStore::Batch& batch, const DecodedLine& decoded, std::string_view text,
              const MessageSource& source, const std::string& reason);

  const Rules& rules_;
  std::string scratch_;  // reused JSON buffer
};

}  // namespace paydist
