// tests/fuzz/message_text.h: writes a decoded input Message back as one contract-shaped JSON
// line, for the message fuzzer's round trip (decode(text(m)) must give text(m) again).
// paydist itself never writes input messages, so this encoder lives with the fuzzers only.
//   std::string line = message_text(message);   // {"type":"payment","event_id":...}
#pragma once

#include <string>

#include "core/messages.h"

namespace paydist::fuzz {

// Every field the message holds, in a fixed order; optional fields only when set.
// Two messages are the same to the decoder exactly when their texts are equal.
std::string message_text(const Message& message);

}  // namespace paydist::fuzz
