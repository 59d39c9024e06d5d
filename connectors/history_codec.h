// connectors/history_codec.h: how one `paydist explain` entry (core/history.h) is stored.
// A format byte, then the entry's compact form (describe() makes it, render_entry() reads
// it): the format byte leaves room for another form later without rewriting the state.
//   std::string stored;
//   encode_history_entry(entry, stored);                 // at commit
//   Result<std::string> text = decode_history_entry(stored);  // at explain
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace paydist {

// Replaces `out` with the stored form of a compact entry.
void encode_history_entry(std::string_view compact, std::string& out);
// The entry's text, or an Error saying why the stored bytes are not an entry.
Result<std::string> decode_history_entry(std::string_view stored);

}  // namespace paydist
