// connectors/message_apply.cpp: one input message through contract 6's order of checks into
// a batch (see message_apply.h). The same code path for files and Kafka.
#include "connectors/message_apply.h"

#include <iterator>

#include <fmt/format.h>

#include "core/processor.h"

namespace paydist {

void MessageApplier::reject(StateStore::Batch& batch, const DecodedLine& decoded, std::string_view text,
                            const MessageSource& source, const std::string& reason) {
  std::string where;
  where.reserve(source.prefix.size() + 21);
  where.append(source.prefix);
  where += source.separator;
  fmt::format_to(std::back_inserter(where), "{}", source.position);
  scratch_.clear();
  append_reject_json(scratch_, where, reason, text);
  const std::string_view key = decoded.account_id ? decoded.account_id->view() : std::string_view{};
  batch.add_output(OutputTopic::rejects, key, scratch_);
}

// contract 6, input handling: envelope checks, then the redelivery check, then the rest.
MessageOutcome MessageApplier::apply(StateStore::Batch& batch, const DecodedLine& decoded, std::string_view text,
                                     const MessageSource& source) {
  if (!decoded.envelope_ok) {
    reject(batch, decoded, text, source, decoded.message.error());
    return MessageOutcome::rejected;
  }
  Processor processor{rules_, batch};
  // Without a valid account_id (and not a business_date) it has no scope: it cannot be a
  // redelivery, and its body is rejected below.
  if (decoded.business_date_scope || decoded.account_id) {
    const EventScope scope{decoded.business_date_scope ? nullptr : &*decoded.account_id};
    if (processor.is_redelivery(scope, decoded.event_id)) return MessageOutcome::duplicate;
  }
  if (!decoded.message) {
    reject(batch, decoded, text, source, decoded.message.error());
    return MessageOutcome::rejected;
  }
  Result<Applied> applied = processor.apply(*decoded.message);
  if (!applied) {
    reject(batch, decoded, text, source, applied.error());
    return MessageOutcome::rejected;
  }
  if (applied->kind == Applied::Kind::duplicate) return MessageOutcome::duplicate;
  for (const Activity& activity : applied->outputs.activities) {
    scratch_.clear();
    append_activity_json(scratch_, activity);
    batch.add_output(OutputTopic::activities, activity.account_id.view(), scratch_);
  }
  for (const Distribution& distribution : applied->outputs.distributions) {
    scratch_.clear();
    append_distribution_json(scratch_, distribution);
    batch.add_output(OutputTopic::distributions, distribution.account_id.view(), scratch_);
  }
  return MessageOutcome::accepted;
}

}  // namespace paydist
