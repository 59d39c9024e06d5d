// connectors/record.cpp: encodes and decodes the state store's records (see record.h).
// Decoding trusts nothing: every read is bounds-checked, every count is bounded by the
// bytes left, every enum and flag byte is range-checked; the first problem becomes an Error.
#include "connectors/record.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace paydist {
namespace {

// The second byte of every record: which record it is, so one never decodes as another.
enum class RecordKind : std::uint8_t { account = 'A', timeline = 'T', file_position = 'F', pending_output = 'O' };

const char* to_string(RecordKind kind) {
  switch (kind) {
    case RecordKind::account: return "account";
    case RecordKind::timeline: return "timeline";
    case RecordKind::file_position: return "file position";
    case RecordKind::pending_output: return "pending output";
  }
  return "unknown";
}

// Flag bits of the one-byte flag sets; any other bit set is corruption.
constexpr std::uint8_t kObligationPlanEligible = 1, kObligationDueChecked = 2;
constexpr std::uint8_t kInstalmentSkipped = 1, kInstalmentHasReturnDate = 2;
constexpr std::uint8_t kArrangementActivated = 1, kArrangementHasClosingDate = 2;

// ---------------------------------------------------------------------------------------
// Writing

// Appends one record to `out` (the encode_* functions clear it first). Writes through a
// raw cursor into `out`, lengthened ahead and cut to length when the Writer goes:
// a record is mostly one-byte fields, and appending them one by one to a std::string costs
// a capacity check and a terminator each.
class Writer {
 public:
  Writer(std::string& out, RecordKind kind) : out_(out), pos_(out.size()) {
    u8(kRecordVersion);
    u8(static_cast<std::uint8_t>(kind));
  }
  ~Writer() { out_.resize(pos_); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::size_t position() const { return pos_; }

  void u8(std::uint8_t v) {
    reserve(1);
    out_[pos_++] = static_cast<char>(v);
  }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void varint(std::uint64_t v) {
    reserve(kMaxVarintBytes);
    while (v >= 0x80) {
      out_[pos_++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    out_[pos_++] = static_cast<char>(v);
  }
  void zigzag(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void money(Money m) { zigzag(m.cents()); }
  void date(Date d) { zigzag(d.serial()); }
  void optional_date(const std::optional<Date>& d) {
    boolean(d.has_value());
    if (d) date(*d);
  }
  void string(std::string_view s) {
    varint(s.size());
    bytes(s.data(), s.size());
  }
  void bytes(const void* data, std::size_t size) {
    reserve(size);
    if (size > 0) std::memcpy(out_.data() + pos_, data, size);
    pos_ += size;
  }

 private:
  static constexpr std::size_t kMaxVarintBytes = 10;
  static constexpr std::size_t kSlackBytes = 128;  // room for the next few small fields

  // Lengthens out_ by what is needed plus a little: resize() zero-fills only those bytes,
  // and the string's capacity still grows geometrically underneath.
  void reserve(std::size_t n) {
    if (out_.size() - pos_ < n) out_.resize(pos_ + n + kSlackBytes);
  }

  std::string& out_;
  std::size_t pos_;  // the end of what was written; out_ may be longer until the destructor
};

void write_parts(Writer& w, const std::vector<PaymentPart>& parts) {
  w.varint(parts.size());
  for (const PaymentPart& part : parts) {
    w.varint(part.payment_index);
    w.money(part.amount);
  }
}

void write_obligation(Writer& w, const Obligation& o) {
  w.string(o.id.view());
  w.date(o.due_date);
  w.money(o.balance.tax);
  w.money(o.balance.penalty);
  w.money(o.balance.interest);
  w.u8(static_cast<std::uint8_t>((o.plan_eligible ? kObligationPlanEligible : 0) |
                                 (o.due_checked ? kObligationDueChecked : 0)));
}

void write_instalment(Writer& w, const Instalment& i) {
  w.date(i.due_date);
  w.money(i.amount);
  w.u8(static_cast<std::uint8_t>((i.skipped ? kInstalmentSkipped : 0) |
                                 (i.return_date ? kInstalmentHasReturnDate : 0)));
  if (i.return_date) w.date(*i.return_date);
  w.string(i.return_reason_code);
  write_parts(w, i.parts);
}

void write_arrangement(Writer& w, const Arrangement& a) {
  w.string(a.id.view());
  w.u8(static_cast<std::uint8_t>(a.kind));
  w.u8(static_cast<std::uint8_t>(a.status));
  w.varint(a.covered.size());
  for (const ObligationId& id : a.covered) w.string(id.view());
  w.money(a.settlement);
  w.varint(a.instalments.size());
  for (const Instalment& i : a.instalments) write_instalment(w, i);
  write_parts(w, a.excess);
  w.u8(static_cast<std::uint8_t>((a.activated ? kArrangementActivated : 0) |
                                 (a.closing_date ? kArrangementHasClosingDate : 0)));
  if (a.closing_date) w.date(*a.closing_date);
}

void write_payment(Writer& w, const PaymentRecord& p) {
  w.string(p.id.view());
  w.money(p.amount);
  w.varint(p.lines.size());
  for (const DistributionLine& line : p.lines) {
    w.string(line.obligation_id.view());
    w.u8(static_cast<std::uint8_t>(line.component));
    w.money(line.amount);
  }
  w.money(p.credit);
  w.boolean(p.returned);
}

// ---------------------------------------------------------------------------------------
// Reading: a sticky-error cursor. After the first failure every read returns a default
// and consumes nothing, so callers check ok() once at the end (and in loop conditions).

class Reader {
 public:
  Reader(std::string_view bytes, RecordKind kind)
      : data_(reinterpret_cast<const std::uint8_t*>(bytes.data())), size_(bytes.size()), kind_(kind) {
    header();
  }

  bool ok() const { return error_.empty(); }
  std::size_t remaining() const { return size_ - pos_; }

  std::uint8_t u8(const char* what) {
    if (!ok()) return 0;
    if (remaining() < 1) return truncated(what), 0;
    return data_[pos_++];
  }

  bool boolean(const char* what) {
    const std::uint8_t v = u8(what);
    if (v > 1) fail(fmt::format("{} is {} (expected 0 or 1)", what, v));
    return v == 1;
  }

  std::uint8_t flags(std::uint8_t allowed, const char* what) {
    const std::uint8_t v = u8(what);
    if ((v & ~allowed) != 0) fail(fmt::format("{} has unknown bits 0x{:02x}", what, v));
    return v;
  }

  template <class Enum>
  Enum enumeration(Enum max, const char* what) {
    const std::uint8_t v = u8(what);
    if (v > static_cast<std::uint8_t>(max)) fail(fmt::format("{} has unknown value {}", what, v));
    return ok() ? static_cast<Enum>(v) : Enum{};
  }

  std::uint64_t varint(const char* what) {
    if (pos_ < size_ && data_[pos_] < 0x80 && ok()) return data_[pos_++];  // most are one byte
    std::uint64_t value = 0;
    for (int shift = 0; ok(); shift += 7) {
      if (remaining() < 1) return truncated(what), 0;
      const std::uint8_t byte = data_[pos_++];
      if (shift == 63 && byte > 1) return fail(fmt::format("{} overflows 64 bits", what)), 0;
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return 0;
  }

  std::int64_t zigzag(const char* what) {
    const std::uint64_t v = varint(what);
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  }

  std::uint32_t u32(const char* what) {
    const std::uint64_t v = varint(what);
    if (v > std::numeric_limits<std::uint32_t>::max()) return fail(fmt::format("{} {} is out of range", what, v)), 0;
    return static_cast<std::uint32_t>(v);
  }

  Money money(const char* what) { return Money::from_cents(zigzag(what)); }

  Date date(const char* what) {
    const std::int64_t serial = zigzag(what);
    if (serial < std::numeric_limits<std::int32_t>::min() || serial > std::numeric_limits<std::int32_t>::max())
      return fail(fmt::format("{} day serial {} is out of range", what, serial)), Date{};
    return Date::from_serial(static_cast<std::int32_t>(serial));
  }

  std::optional<Date> optional_date(const char* what) {
    if (!boolean(what)) return std::nullopt;
    Date d = date(what);
    return ok() ? std::optional<Date>{d} : std::nullopt;
  }

  // An element count: each element takes at least one byte, so a count above the bytes
  // left is corrupt (and never drives a huge reserve()).
  std::size_t count(const char* what) {
    const std::uint64_t n = varint(what);
    if (n > remaining()) return fail(fmt::format("{} count {} exceeds the {} bytes left", what, n, remaining())), 0;
    return static_cast<std::size_t>(n);
  }

  std::string_view string(const char* what) {
    const std::uint64_t n = varint(what);
    if (!ok()) return {};
    if (n > remaining()) return truncated(what), std::string_view{};
    std::string_view s{reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(n)};
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

  template <class Id>
  Id id(const char* what) {
    const std::string_view s = string(what);
    if (!ok()) return Id{};
    if (!is_valid_id(s)) return fail(fmt::format("{} is not a valid id", what)), Id{};
    return Id::trusted(s);
  }

  void bytes(std::uint8_t* out, std::size_t n, const char* what) {
    if (!ok()) return;
    if (remaining() < n) return truncated(what);
    std::copy(data_ + pos_, data_ + pos_ + n, out);
    pos_ += n;
  }

  // Called once all fields are read: a record has nothing after its fields.
  void finish() {
    if (ok() && remaining() != 0) fail(fmt::format("{} unexpected bytes after the last field", remaining()));
  }

  void fail(std::string reason) {
    if (ok()) error_ = fmt::format("{} record: {} (at byte {} of {})", to_string(kind_), reason, pos_, size_);
  }

  Error error() const { return Error{error_}; }
  std::uint8_t version() const { return version_; }

 private:
  void header() {
    if (size_ == 0) return fail("empty record");
    const std::uint8_t version = data_[pos_];
    version_ = version;
    if (version == 0) return fail("format version 0 is not a valid version");
    if (version > kRecordVersion)
      return fail(fmt::format("written by format version {}; this paydist reads up to version {}", version,
                              kRecordVersion));
    ++pos_;
    const std::uint8_t kind = u8("record kind");
    if (ok() && kind != static_cast<std::uint8_t>(kind_)) fail(fmt::format("record kind is 0x{:02x}", kind));
  }

  void truncated(const char* what) { fail(fmt::format("truncated while reading {}", what)); }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  RecordKind kind_;
  std::string error_;
  std::uint8_t version_ = 0;
};

// The read_* functions fill a default-constructed element in place.
void read_parts(Reader& r, const char* what, std::vector<PaymentPart>& parts) {
  parts.resize(r.count(what));
  for (std::size_t i = 0; i < parts.size() && r.ok(); ++i) {
    parts[i].payment_index = r.u32("payment part payment_index");
    parts[i].amount = r.money("payment part amount");
  }
}

void read_obligation(Reader& r, Obligation& o) {
  o.id = r.id<ObligationId>("obligation id");
  o.due_date = r.date("obligation due_date");
  o.balance.tax = r.money("obligation tax balance");
  o.balance.penalty = r.money("obligation penalty balance");
  o.balance.interest = r.money("obligation interest balance");
  const std::uint8_t flags = r.flags(kObligationPlanEligible | kObligationDueChecked, "obligation flags");
  o.plan_eligible = (flags & kObligationPlanEligible) != 0;
  o.due_checked = (flags & kObligationDueChecked) != 0;
}

void read_instalment(Reader& r, Instalment& i) {
  i.due_date = r.date("instalment due_date");
  i.amount = r.money("instalment amount");
  const std::uint8_t flags = r.flags(kInstalmentSkipped | kInstalmentHasReturnDate, "instalment flags");
  i.skipped = (flags & kInstalmentSkipped) != 0;
  if ((flags & kInstalmentHasReturnDate) != 0) i.return_date = r.date("instalment return_date");
  i.return_reason_code = std::string{r.string("instalment return_reason_code")};
  read_parts(r, "instalment parts", i.parts);
}

void read_arrangement(Reader& r, Arrangement& a) {
  a.id = r.id<ArrangementId>("arrangement id");
  a.kind = r.enumeration(ArrangementKind::discount, "arrangement kind");
  a.status = r.enumeration(ArrangementStatus::cancelled, "arrangement status");
  a.covered.resize(r.count("arrangement covered obligations"));
  for (std::size_t i = 0; i < a.covered.size() && r.ok(); ++i) a.covered[i] = r.id<ObligationId>("covered obligation id");
  a.settlement = r.money("arrangement settlement");
  a.instalments.resize(r.count("arrangement instalments"));
  for (std::size_t i = 0; i < a.instalments.size() && r.ok(); ++i) read_instalment(r, a.instalments[i]);
  read_parts(r, "arrangement excess parts", a.excess);
  const std::uint8_t flags = r.flags(kArrangementActivated | kArrangementHasClosingDate, "arrangement flags");
  a.activated = (flags & kArrangementActivated) != 0;
  if ((flags & kArrangementHasClosingDate) != 0) a.closing_date = r.date("arrangement closing_date");
}

void read_payment(Reader& r, PaymentRecord& p) {
  p.id = r.id<PaymentId>("payment id");
  p.amount = r.money("payment amount");
  p.lines.resize(r.count("payment lines"));
  for (std::size_t i = 0; i < p.lines.size() && r.ok(); ++i) {
    DistributionLine& line = p.lines[i];
    line.obligation_id = r.id<ObligationId>("distribution line obligation_id");
    line.component = r.enumeration(Component::interest, "distribution line component");
    line.amount = r.money("distribution line amount");
  }
  p.credit = r.money("payment credit");
  p.returned = r.boolean("payment returned");
}

// Payment parts index Account::payments; an index past its end would make the engine read
// out of bounds, so it is corruption here rather than a crash later.
void check_part_indexes(Reader& r, const Account& account) {
  auto check = [&](const std::vector<PaymentPart>& parts) {
    for (const PaymentPart& part : parts)
      if (part.payment_index >= account.payments.size())
        return r.fail(fmt::format("a payment part refers to payment {} of {}", part.payment_index,
                                  account.payments.size()));
  };
  for (const Arrangement& a : account.arrangements) {
    for (const Instalment& i : a.instalments) check(i.parts);
    check(a.excess);
  }
}

}  // namespace

void encode_account(const Account& account, std::string& out) {
  out.clear();
  Writer w{out, RecordKind::account};
  w.string(account.id.view());
  w.varint(account.seq);
  w.boolean(account.ever_assessed);
  w.varint(account.obligations.size());
  for (const Obligation& o : account.obligations) write_obligation(w, o);
  w.varint(account.arrangements.size());
  for (const Arrangement& a : account.arrangements) write_arrangement(w, a);
  w.varint(account.payments.size());
  for (const PaymentRecord& p : account.payments) write_payment(w, p);
  w.varint(account.reviews.size());
  for (const PendingReview& review : account.reviews) {
    w.string(review.arrangement_id.view());
    w.date(review.due);
  }
  w.optional_date(account.indexed_deadline);
  w.varint(account.history_entries);
  w.varint(account.timeline);
}

Result<Account> decode_account(std::string_view bytes) {
  Reader r{bytes, RecordKind::account};
  Account account;
  account.id = r.id<AccountId>("account id");
  account.seq = r.varint("account seq");
  account.ever_assessed = r.boolean("account ever_assessed");
  account.obligations.resize(r.count("obligations"));
  for (std::size_t i = 0; i < account.obligations.size() && r.ok(); ++i) read_obligation(r, account.obligations[i]);
  account.arrangements.resize(r.count("arrangements"));
  for (std::size_t i = 0; i < account.arrangements.size() && r.ok(); ++i) read_arrangement(r, account.arrangements[i]);
  account.payments.resize(r.count("payments"));
  for (std::size_t i = 0; i < account.payments.size() && r.ok(); ++i) read_payment(r, account.payments[i]);
  account.reviews.resize(r.count("reviews"));
  for (std::size_t i = 0; i < account.reviews.size() && r.ok(); ++i) {
    account.reviews[i].arrangement_id = r.id<ArrangementId>("review arrangement_id");
    account.reviews[i].due = r.date("review due date");
  }
  account.indexed_deadline = r.optional_date("account indexed_deadline");
  account.history_entries = r.varint("account history_entries");
  if (r.version() >= 2) {
    const std::uint64_t timeline = r.varint("account timeline");
    if (timeline > UINT32_MAX) r.fail("account timeline out of range");
    account.timeline = static_cast<std::uint32_t>(timeline);
  }
  r.finish();
  if (r.ok()) check_part_indexes(r, account);
  if (!r.ok()) return r.error();
  return account;
}

void encode_timeline(const TimelineState& timeline, std::string& out) {
  out.clear();
  Writer w{out, RecordKind::timeline};
  w.optional_date(timeline.business_date);
  w.varint(timeline.accounts_seen);
}

Result<TimelineState> decode_timeline(std::string_view bytes) {
  Reader r{bytes, RecordKind::timeline};
  TimelineState timeline;
  timeline.business_date = r.optional_date("business_date");
  timeline.accounts_seen = r.varint("accounts_seen");
  r.finish();
  if (!r.ok()) return r.error();
  return timeline;
}

void encode_file_position(const FilePosition& position, std::string& out) {
  out.clear();
  Writer w{out, RecordKind::file_position};
  w.string(position.real_path);
  w.varint(position.lines_consumed);
  w.varint(position.bytes_consumed);
  w.bytes(position.sha256.data(), position.sha256.size());
}

Result<FilePosition> decode_file_position(std::string_view bytes) {
  Reader r{bytes, RecordKind::file_position};
  FilePosition position;
  position.real_path = std::string{r.string("real_path")};
  position.lines_consumed = r.varint("lines_consumed");
  position.bytes_consumed = r.varint("bytes_consumed");
  r.bytes(position.sha256.data(), position.sha256.size(), "sha256");
  r.finish();
  if (!r.ok()) return r.error();
  return position;
}

void encode_pending_output(const PendingOutput& output, std::string& out) {
  out.clear();
  append_pending_output(output.seq, output.topic, output.key, output.json, output.timeline, output.partition_seq, out);
}

AppendedOutput append_pending_output(std::uint64_t seq, OutputTopic topic, std::string_view key,
                                     std::string_view json, TimelineId timeline, std::uint64_t partition_seq,
                                     std::string& out) {
  Writer w{out, RecordKind::pending_output};
  w.varint(seq);
  w.u8(static_cast<std::uint8_t>(topic));
  w.varint(timeline);
  w.varint(partition_seq);
  w.varint(key.size());
  AppendedOutput at;
  at.key_begin = w.position();
  w.bytes(key.data(), key.size());
  w.varint(json.size());
  at.json_begin = w.position();
  w.bytes(json.data(), json.size());
  return at;
}

Result<PendingOutput> decode_pending_output(std::string_view bytes) {
  Reader r{bytes, RecordKind::pending_output};
  PendingOutput output;
  output.seq = r.varint("seq");
  output.topic = r.enumeration(OutputTopic::state_changelog_deleted, "topic");
  output.timeline = r.u32("timeline");
  output.partition_seq = r.varint("partition_seq");
  output.key = std::string{r.string("key")};
  output.json = std::string{r.string("json")};
  r.finish();
  if (!r.ok()) return r.error();
  return output;
}

std::string encode_account(const Account& account) {
  std::string out;
  encode_account(account, out);
  return out;
}

std::string encode_timeline(const TimelineState& timeline) {
  std::string out;
  encode_timeline(timeline, out);
  return out;
}

std::string encode_file_position(const FilePosition& position) {
  std::string out;
  encode_file_position(position, out);
  return out;
}

std::string encode_pending_output(const PendingOutput& output) {
  std::string out;
  encode_pending_output(output, out);
  return out;
}

}  // namespace paydist
