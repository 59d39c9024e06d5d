// connectors/history_codec.cpp: zstd with a raw-content dictionary for history entries.
//
// Stored form: one format byte, then the bytes.
//   0x00  the text as is (an entry the compressor could not make smaller)
//   0x01  a zstd frame made against kDictionaryV1 (a raw-content dictionary), without its
//         4-byte magic number (put back to read it), dictionary id or checksum, holding its
//         content size. Only zstd's stable API is used.
// A format byte, once written, is read forever: kDictionaryV1 must never change. A better
// dictionary is a new format byte (0x02) beside it.
#include "connectors/history_codec.h"

#include <zstd.h>

#include <fmt/format.h>

#include "core/invariant.h"

namespace paydist {
namespace {

constexpr char kPlain = 0x00;
constexpr char kZstdDictionaryV1 = 0x01;
constexpr int kLevel = 3;
constexpr std::string_view kZstdMagic{"\x28\xb5\x2f\xfd", 4};  // ZSTD_MAGICNUMBER, little-endian
// An entry is a few lines; anything claiming more is not one of ours.
constexpr unsigned long long kEntryBytesMax = 1 << 20;

// Typical entries, one of each kind, in the words core/history.cpp uses. zstd finds the
// phrases of an entry here; what is nearer the end costs fewer bits, so the common entries
// (assessments and payments) come last.
constexpr std::string_view kDictionaryV1 =
    "[2026-01-01] business date passed the deadline of 2026-01-15\n"
    "  arrangement ARR1 status current -> broken\n"
    "  activity BROKEN_ARRANGEMENT ACC00000001/BD20454/d0: arrangement ARR1 broken, instalment due 2026-01-01 "
    "short by 100.00 (rule: unpaid 14 days after its due date)\n"
    "  activity BROKEN_ARRANGEMENT ACC00000001/BD20454/d0: arrangement ARR1 broken, instalment due 2026-01-01 "
    "short by 100.00 (rule: direct debit returned 2026-01-02 with reason MD06, not paid again within 3 days)\n"
    "  activity REVIEW_DUE ACC00000001/E1/0: review of arrangement ARR1 (rule: agency request, 28 days' notice ended)\n"
    "  activity REVIEW_DUE ACC00000001/E1/0: review of arrangement ARR1 (rule: customer request, due at once)\n"
    "  activity NO_ARRANGEMENT ACC00000001/E1/0: debt 2000.00 is over the threshold 1500.00 (rule: arrangement "
    "ARR1 cancelled and no other pending or current arrangement)\n"
    "  activity NO_ARRANGEMENT ACC00000001/E1/0: debt 2000.00 is over the threshold 1500.00 (rule: obligation OBL1 "
    "adjusted from zero to above zero with no arrangement)\n"
    "  activity NO_ARRANGEMENT ACC00000001/BD20454/d0: debt 2000.00 is over the threshold 1500.00 (rule: "
    "obligation OBL1 passed its due date with a balance and no arrangement)\n"
    "  activity UNMATCHED_PAYMENT ACC00000001/E1/0: payment PAY1 of 100.00 kept as credit (rule: no obligation "
    "was ever assessed on this account)\n"
    "  activity ARRANGEMENT_COMPLETED ACC00000001/E1/0: arrangement ARR1 completed (rule: discount settlement "
    "500.00 reached)\n"
    "  arrangement ARR1 status current -> completed\n"
    "  activity ARRANGEMENT_COMPLETED ACC00000001/E1/0: arrangement ARR1 completed (rule: every covered "
    "obligation at zero)\n"
    "[2026-01-01] arrangement_review E1: arrangement ARR1 requested by customer\n"
    "[2026-01-01] arrangement_review E1: arrangement ARR1 requested by agency\n"
    "[2026-01-01] arrangement_cancelled E1: arrangement ARR1\n"
    "  arrangement ARR1 status current -> cancelled\n"
    "[2026-01-01] instalment_skipped E1: arrangement ARR1 instalment due 2026-01-01\n"
    "  arrangement ARR1 instalment due 2026-01-01 skipped\n"
    "  arrangement ARR1 status broken -> current\n"
    "[2026-01-01] arrangement_updated E1: arrangement ARR1, covers OBL1, OBL2, new schedule of 6 instalments\n"
    "  arrangement ARR1 schedule replaced: 6 instalments; money applied so far re-flowed\n"
    "[2026-01-01] payment_returned E1: PAY1 returned 2026-01-02 with reason MD06\n"
    "  reversed 100.00 back onto OBL1 tax\n"
    "  reversed 100.00 back onto OBL1 penalty\n"
    "  reversed 100.00 back onto OBL1 interest\n"
    "  removed 100.00 of credit\n"
    "  arrangement ARR1 instalment due 2026-01-01: paid 100.00 -> 0.00 of 100.00 (due)\n"
    "[2026-01-01] payment E1: PAY1 of 100.00 by direct_debit, received 2026-01-01, for arrangement ARR1\n"
    "  wrote off 100.00 of OBL1 interest (discount 500.00 settled)\n"
    "[2026-01-01] arrangement_created E1: discount arrangement ARR1 covering OBL1, settlement 500.00\n"
    "[2026-01-01] arrangement_created E1: direct_debit arrangement ARR1 covering OBL1, OBL2\n"
    "[2026-01-01] arrangement_created E1: cash arrangement ARR1 covering OBL1\n"
    "  arrangement ARR1 created pending_start: 6 instalments totalling 1200.00, first due 2026-01-01\n"
    "[2026-01-01] arrangement_activated E1: arrangement ARR1\n"
    "  arrangement ARR1 status pending_start -> current\n"
    "[2026-01-01] obligation_adjusted E1: obligation OBL1 by tax -10.00 penalty 0.00 interest 0.00\n"
    "[2026-01-01] obligation_assessed E1: obligation OBL1 due 2026-01-01, tax 100.00 penalty 10.00 interest 1.00, "
    "not plan-eligible\n"
    "[2026-01-01] obligation_assessed E1: obligation OBL1 due 2026-01-01, tax 100.00 penalty 10.00 interest 1.00\n"
    "[2026-01-01] payment E1: PAY1 of 100.00 by cheque, received 2026-01-01, for obligation OBL1\n"
    "  applied 100.00 to OBL1 tax (step 1: designated obligation)\n"
    "[2026-01-01] payment E1: PAY1 of 100.00 by card, received 2026-01-01\n"
    "  applied 100.00 to OBL1 tax (step 2: covered by arrangement ARR1)\n"
    "  arrangement ARR1 instalment due 2026-01-01: paid 0.00 -> 100.00 of 100.00 (paid)\n"
    "  kept 100.00 as account credit (step 4)\n"
    "[2026-01-01] payment E1: PAY1 of 100.00 by cash, received 2026-01-01\n"
    "  applied 100.00 to OBL1 tax (step 3: oldest due date first)\n"
    "  applied 10.00 to OBL1 penalty (step 3: oldest due date first)\n"
    "  applied 1.00 to OBL1 interest (step 3: oldest due date first)\n";

struct ZstdFree {
  void operator()(ZSTD_CCtx* p) const { ZSTD_freeCCtx(p); }
  void operator()(ZSTD_DCtx* p) const { ZSTD_freeDCtx(p); }
  void operator()(ZSTD_CDict* p) const { ZSTD_freeCDict(p); }
  void operator()(ZSTD_DDict* p) const { ZSTD_freeDDict(p); }
};

}  // namespace

struct HistoryCodec::Impl {
  std::unique_ptr<ZSTD_CCtx, ZstdFree> cctx{ZSTD_createCCtx()};
  std::unique_ptr<ZSTD_DCtx, ZstdFree> dctx{ZSTD_createDCtx()};
  // Not starting with zstd's dictionary magic, the bytes are taken as raw content.
  std::unique_ptr<ZSTD_CDict, ZstdFree> cdict{ZSTD_createCDict(kDictionaryV1.data(), kDictionaryV1.size(), kLevel)};
  std::unique_ptr<ZSTD_DDict, ZstdFree> ddict{ZSTD_createDDict(kDictionaryV1.data(), kDictionaryV1.size())};
  std::string frame;  // decompress(): the stored frame with its magic number back

  Impl() {
    PAYDIST_INVARIANT(cctx && dctx && cdict && ddict);
    // Every byte counts at this size: no dictionary id or checksum (LMDB pages carry their
    // own integrity; the format byte names the dictionary).
    PAYDIST_INVARIANT(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 0)));
    PAYDIST_INVARIANT(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_dictIDFlag, 0)));
    PAYDIST_INVARIANT(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1)));
    PAYDIST_INVARIANT(!ZSTD_isError(ZSTD_CCtx_refCDict(cctx.get(), cdict.get())));
  }
};

HistoryCodec::HistoryCodec() : impl_(std::make_unique<Impl>()) {}
HistoryCodec::~HistoryCodec() = default;

void HistoryCodec::compress(std::string_view text, std::string& out) {
  // The frame goes in at offset 1 - 4 + 4: its magic number lands on bytes 1..4, and is
  // then overwritten by moving the rest down (the format byte stays at 0).
  const std::size_t bound = ZSTD_compressBound(text.size());
  out.resize(1 + bound);
  const std::size_t size = ZSTD_compress2(impl_->cctx.get(), out.data() + 1, bound, text.data(), text.size());
  if (!ZSTD_isError(size) && size > kZstdMagic.size() && size - kZstdMagic.size() < text.size()) {
    PAYDIST_INVARIANT(std::string_view(out.data() + 1, kZstdMagic.size()) == kZstdMagic);
    out.erase(1, kZstdMagic.size());
    out.resize(1 + size - kZstdMagic.size());
    out[0] = kZstdDictionaryV1;
    return;
  }
  out.assign(1, kPlain);
  out.append(text);
}

Result<std::string> HistoryCodec::decompress(std::string_view stored) {
  if (stored.empty()) return Error{"empty history entry"};
  const std::string_view body = stored.substr(1);
  if (stored[0] == kPlain) return std::string{body};
  if (stored[0] != kZstdDictionaryV1)
    return Error{fmt::format("history entry of unknown format {:#04x}", static_cast<unsigned char>(stored[0]))};
  std::string& frame = impl_->frame;
  frame.assign(kZstdMagic);
  frame.append(body);
  // The frame header says the content size (contentSizeFlag above).
  const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content > kEntryBytesMax)
    return Error{"history entry with a bad zstd frame header"};
  std::string text(static_cast<std::size_t>(content), '\0');
  const std::size_t size = ZSTD_decompress_usingDDict(impl_->dctx.get(), text.data(), text.size(), frame.data(),
                                                       frame.size(), impl_->ddict.get());
  if (ZSTD_isError(size) || size != text.size())
    return Error{fmt::format("history entry does not decompress: {}",
                             ZSTD_isError(size) ? ZSTD_getErrorName(size) : "short content")};
  return text;
}

}  // namespace paydist
