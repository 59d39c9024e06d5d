// connectors/history_codec.cpp: the stored form of history entries.
//
//   0x02  the entry's compact form (core/history.h): its phrases as one-byte codes, its
//         amounts, dates and numbers in binary, its ids as they are.
// A format byte, once written, is read forever. (0x00 and 0x01, plain text and zstd frames,
// were development forms of state format 2; format 3 never holds them. zstd spent about
// 1.2 us on every entry, most of it setting up for so few bytes, and the compact form is
// about as small: docs/decisions.md.)
#include "connectors/history_codec.h"

#include <fmt/format.h>

#include "core/history.h"

namespace paydist {
namespace {

constexpr char kCompact = 0x02;

}  // namespace

void encode_history_entry(std::string_view compact, std::string& out) {
  out.assign(1, kCompact);
  out.append(compact);
}

Result<std::string> decode_history_entry(std::string_view stored) {
  if (stored.empty()) return Error{"empty history entry"};
  if (stored[0] != kCompact)
    return Error{fmt::format("history entry of unknown format {:#04x}", static_cast<unsigned char>(stored[0]))};
  return render_entry(stored.substr(1));
}

}  // namespace paydist
