// connectors/codec_decode.cpp: one input line -> a validated Message (contract 1, 2, 6).
// Order: size, UTF-8 without BOM, strict JSON (codec_raw.h), object, event_id (the
// envelope); then each field's presence, type and range. It checks form, never state:
// whether an obligation exists or a status allows a message is the engine's business.
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "connectors/codec.h"
#include "connectors/codec_raw.h"
#include "connectors/codec_text.h"
#include "core/invariant.h"

namespace paydist {
namespace {

using codec_raw::Kind;
using codec_raw::RawAmounts;
using codec_raw::RawMessage;
using codec_raw::RawRecommend;
using codec_raw::RawScheduleEntry;
using codec_raw::Scalar;

// Lists up to this long are checked for repeated ids pairwise, longer ones by sorting.
constexpr std::size_t kPairwiseIdCheckMax = 16;
constexpr std::size_t kShownValueBytes = 40;  // how much of a bad value a reason quotes

// Where a field sits in the message: "amount", "schedule[2].due_date", "recommend.count".
// Formatted only when a reason is written.
struct Path {
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  const char* base;
  std::size_t index = kNoIndex;
  const char* member = nullptr;

  std::string str() const {
    std::string out = base;
    if (index != kNoIndex) fmt::format_to(std::back_inserter(out), "[{}]", index);
    if (member != nullptr) fmt::format_to(std::back_inserter(out), ".{}", member);
    return out;
  }
};

template <class Enum>
struct Choice {
  std::string_view name;
  Enum value;
};

constexpr Choice<ArrangementKind> kKinds[] = {{"cash", ArrangementKind::cash},
                                              {"direct_debit", ArrangementKind::direct_debit},
                                              {"discount", ArrangementKind::discount}};
constexpr Choice<PaymentMethod> kMethods[] = {{"cash", PaymentMethod::cash},
                                              {"card", PaymentMethod::card},
                                              {"bpay", PaymentMethod::bpay},
                                              {"eft", PaymentMethod::eft},
                                              {"direct_debit", PaymentMethod::direct_debit},
                                              {"cheque", PaymentMethod::cheque},
                                              {"other", PaymentMethod::other}};
constexpr Choice<Frequency> kFrequencies[] = {
    {"weekly", Frequency::weekly}, {"fortnightly", Frequency::fortnightly}, {"monthly", Frequency::monthly}};
constexpr Choice<RequestedBy> kRequesters[] = {{"agency", RequestedBy::agency}, {"customer", RequestedBy::customer}};
constexpr Choice<Recommend::Rule> kRules[] = {{"equal_instalments", Recommend::Rule::equal_instalments},
                                              {"fixed_amount", Recommend::Rule::fixed_amount}};

enum class Bound : std::uint8_t { any, at_least_zero, above_zero };

std::string_view shown(std::string_view text) { return codec_text::cut_on_utf8_boundary(text, kShownValueBytes); }

// Checks fields one at a time; the first failure is kept as the reject reason.
class FieldCheck {
 public:
  explicit FieldCheck(const Rules& rules) : rules_(rules) {}

  std::string take_error() { return std::move(error_); }

  bool missing(const Path& path) {
    error_ = fmt::format("missing required field \"{}\"", path.str());
    return false;
  }
  bool invalid(const Path& path, std::string_view reason) {
    error_ = fmt::format("field \"{}\": {}", path.str(), reason);
    return false;
  }
  bool wrong_kind(const Path& path, const char* expected, Kind got) {
    return invalid(path, fmt::format("expected {}, got {}", expected, codec_raw::describe(got)));
  }

  bool string(const Scalar& s, const Path& path, std::string_view& out) {
    if (!s.present()) return missing(path);
    if (s.kind != Kind::string) return wrong_kind(path, "a string", s.kind);
    out = s.text;
    return true;
  }

  template <class Id>
  bool id(const Scalar& s, const Path& path, Id& out) {
    std::string_view text;
    if (!string(s, path, text)) return false;
    Result<Id> parsed = Id::parse(text);
    if (!parsed) return invalid(path, parsed.error());
    out = std::move(*parsed);
    return true;
  }

  template <class Id>
  bool optional_id(const Scalar& s, const Path& path, std::optional<Id>& out) {
    if (!s.present()) return true;
    return id(s, path, out.emplace());
  }

  bool date(const Scalar& s, const Path& path, Date& out) {
    std::string_view text;
    if (!string(s, path, text)) return false;
    Result<Date> parsed = Date::parse(text);
    if (!parsed) return invalid(path, parsed.error());
    out = *parsed;
    return true;
  }

  bool money(const Scalar& s, const Path& path, Sign sign, Bound bound, Money& out) {
    if (!s.present()) return missing(path);
    if (s.kind != Kind::string) return wrong_kind(path, "a money string such as \"12.34\"", s.kind);
    Result<Money> parsed = Money::parse(s.text, sign);
    if (!parsed) return invalid(path, parsed.error());
    if (bound == Bound::above_zero && !parsed->is_positive())
      return invalid(path, fmt::format("must be greater than 0.00, got \"{}\"", shown(s.text)));
    if (bound == Bound::at_least_zero && parsed->is_negative())
      return invalid(path, fmt::format("must not be negative, got \"{}\"", shown(s.text)));
    out = *parsed;
    return true;
  }

  // An absent or null component of `amounts` is zero (contract 6: null means absent).
  bool optional_money(const Scalar& s, const Path& path, Sign sign, Bound bound, Money& out) {
    if (!s.present()) {
      out = Money::zero();
      return true;
    }
    return money(s, path, sign, bound, out);
  }

  template <class Enum, std::size_t N>
  bool choice(const Scalar& s, const Path& path, const Choice<Enum> (&choices)[N], Enum& out) {
    std::string_view text;
    if (!string(s, path, text)) return false;
    for (const Choice<Enum>& c : choices)
      if (c.name == text) {
        out = c.value;
        return true;
      }
    std::string names;
    for (std::size_t i = 0; i < N; ++i) {
      if (i > 0) names += i + 1 == N ? " or " : ", ";
      names += choices[i].name;
    }
    return invalid(path, fmt::format("unknown value \"{}\" (expected {})", shown(text), names));
  }

  bool plan_eligible(const Scalar& s, bool& out) {
    if (!s.present()) {
      out = true;  // contract 2: default true
      return true;
    }
    if (s.kind != Kind::boolean) return wrong_kind(Path{"plan_eligible"}, "true or false", s.kind);
    out = s.boolean;
    return true;
  }

  bool reason_code(const Scalar& s, std::string& out) {
    std::string_view text;
    if (!string(s, Path{"reason_code"}, text)) return false;
    if (text.empty()) return invalid(Path{"reason_code"}, "must not be empty");
    out.assign(text);
    return true;
  }

  // contract 1: optional, but when present it must equal the configured currency.
  bool currency(const Scalar& s) {
    if (!s.present()) return true;
    if (s.kind != Kind::string) return wrong_kind(Path{"currency"}, "a string", s.kind);
    if (s.text != rules_.currency)
      return invalid(Path{"currency"},
                     fmt::format("\"{}\" is not the configured currency \"{}\"", shown(s.text), rules_.currency));
    return true;
  }

  // An optional date that is validated and then not used (start_date is informational).
  bool informational_date(const Scalar& s, const Path& path) {
    if (!s.present()) return true;
    Date ignored;
    return date(s, path, ignored);
  }

  bool amounts(const RawAmounts& raw, Sign sign, Bound bound, Amounts& out) {
    const Path path{"amounts"};
    if (!codec_raw::is_present(raw.kind)) return missing(path);
    if (raw.kind != Kind::object) return wrong_kind(path, "an object", raw.kind);
    return optional_money(raw.tax, Path{"amounts", Path::kNoIndex, "tax"}, sign, bound, out.tax) &&
           optional_money(raw.penalty, Path{"amounts", Path::kNoIndex, "penalty"}, sign, bound, out.penalty) &&
           optional_money(raw.interest, Path{"amounts", Path::kNoIndex, "interest"}, sign, bound, out.interest);
  }

  // contract 6: non-empty, distinct, valid ids.
  bool covered_obligations(const RawMessage& raw, std::vector<ObligationId>& out) {
    const Path path{"covered_obligations"};
    if (!codec_raw::is_present(raw.covered_kind)) return missing(path);
    if (raw.covered_kind != Kind::array) return wrong_kind(path, "an array of obligation ids", raw.covered_kind);
    if (raw.covered_count == 0) return invalid(path, "needs at least one obligation id");
    // Each id must exist in the account (engine), so a list can never be longer than an
    // account may hold obligations.
    if (raw.covered_count > rules_.max_obligations_per_account)
      return invalid(path, fmt::format("{} entries, more than max_obligations_per_account ({})", raw.covered_count,
                                       rules_.max_obligations_per_account));
    out.clear();
    out.reserve(raw.covered.size());
    for (std::size_t i = 0; i < raw.covered.size(); ++i)
      if (!id(raw.covered[i], Path{"covered_obligations", i}, out.emplace_back())) return false;
    return distinct(out);
  }

  bool schedule(const RawMessage& raw, std::vector<ScheduleEntry>& out) {
    const Path path{"schedule"};
    if (!codec_raw::is_present(raw.schedule_kind)) return missing(path);
    if (raw.schedule_kind != Kind::array) return wrong_kind(path, "an array of instalments", raw.schedule_kind);
    if (raw.schedule_count == 0 || raw.schedule_count > rules_.max_instalments)
      return invalid(path, fmt::format("needs 1 to {} entries (max_instalments), got {}", rules_.max_instalments,
                                       raw.schedule_count));
    out.clear();
    out.reserve(raw.schedule.size());
    for (std::size_t i = 0; i < raw.schedule.size(); ++i) {
      const RawScheduleEntry& entry = raw.schedule[i];
      if (entry.kind != Kind::object) return wrong_kind(Path{"schedule", i}, "an object", entry.kind);
      ScheduleEntry& instalment = out.emplace_back();
      const Path due_path{"schedule", i, "due_date"};
      if (!date(entry.due_date, due_path, instalment.due_date) ||
          !money(entry.amount, Path{"schedule", i, "amount"}, Sign::unsigned_only, Bound::above_zero,
                 instalment.amount))
        return false;
      // contract 2: due dates strictly increasing
      if (i > 0 && !(out[i - 1].due_date < instalment.due_date))
        return invalid(due_path, fmt::format("{} is not after the previous due date {}", instalment.due_date,
                                             out[i - 1].due_date));
    }
    return true;
  }

  // contract 2 and 6: keys the rule does not use are ignored.
  bool recommend(const RawRecommend& raw, Recommend& out) {
    const Path path{"recommend"};
    if (!codec_raw::is_present(raw.kind)) return missing(path);
    if (raw.kind != Kind::object) return wrong_kind(path, "an object", raw.kind);
    if (!choice(raw.rule, Path{"recommend", Path::kNoIndex, "rule"}, kRules, out.rule)) return false;
    if (out.rule == Recommend::Rule::equal_instalments) {
      if (!count(raw.count, out.count)) return false;
    } else {
      if (!money(raw.amount, Path{"recommend", Path::kNoIndex, "amount"}, Sign::unsigned_only, Bound::above_zero,
                 out.amount))
        return false;
    }
    return choice(raw.frequency, Path{"recommend", Path::kNoIndex, "frequency"}, kFrequencies, out.frequency) &&
           date(raw.first_due_date, Path{"recommend", Path::kNoIndex, "first_due_date"}, out.first_due_date);
  }

 private:
  // contract 6: a JSON integer >= 1 written without fraction or exponent; the rule then
  // yields exactly `count` instalments, so more than max_instalments can never be valid.
  bool count(const Scalar& s, std::int64_t& out) {
    const Path path{"recommend", Path::kNoIndex, "count"};
    if (!s.present()) return missing(path);
    if (s.kind != Kind::number) return wrong_kind(path, "a whole number", s.kind);
    std::string_view digits = s.text;
    const bool negative = !digits.empty() && digits.front() == '-';
    if (negative) digits.remove_prefix(1);
    const bool integer_form =
        !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!integer_form)
      return invalid(
          path, fmt::format("expected a whole number written without fraction or exponent, got {}", shown(s.text)));
    const bool zero = digits.find_first_not_of('0') == std::string_view::npos;
    if (negative || zero) return invalid(path, fmt::format("must be at least 1, got {}", shown(s.text)));
    std::uint64_t value = 0;
    const bool fits = digits.size() <= 19;  // below 10^19: no overflow
    if (fits)
      for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (!fits || value > rules_.max_instalments)
      return invalid(path, fmt::format("{} is more than max_instalments ({})", shown(s.text), rules_.max_instalments));
    out = static_cast<std::int64_t>(value);
    return true;
  }

  bool distinct(const std::vector<ObligationId>& ids) {
    std::size_t repeated = Path::kNoIndex;
    if (ids.size() <= kPairwiseIdCheckMax) {
      for (std::size_t i = 1; i < ids.size() && repeated == Path::kNoIndex; ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (ids[i] == ids[j]) {
            repeated = i;
            break;
          }
    } else {
      sorted_.clear();
      for (std::size_t i = 0; i < ids.size(); ++i) sorted_.emplace_back(ids[i].view(), i);
      std::sort(sorted_.begin(), sorted_.end());
      for (std::size_t i = 1; i < sorted_.size() && repeated == Path::kNoIndex; ++i)
        if (sorted_[i].first == sorted_[i - 1].first) repeated = sorted_[i].second;
    }
    if (repeated == Path::kNoIndex) return true;
    return invalid(Path{"covered_obligations", repeated},
                   fmt::format("\"{}\" is listed more than once", ids[repeated].view()));
  }

  const Rules& rules_;
  std::string error_;
  std::vector<std::pair<std::string_view, std::size_t>> sorted_;
};

// Builds each message type from the captured fields. The envelope already holds the
// event_id (and the account_id when it was valid), so they are moved in, not parsed again.
class MessageBuilder {
 public:
  MessageBuilder(const RawMessage& raw, FieldCheck& check, DecodedLine& envelope)
      : raw_(raw), check_(check), envelope_(envelope) {}

  Result<Message> build() {
    std::string_view type;
    if (!check_.string(raw_.type, Path{"type"}, type)) return fail();
    using Build = Result<Message> (MessageBuilder::*)();
    struct Entry {
      std::string_view name;
      Build build;
    };
    static constexpr Entry kTypes[] = {
        {"obligation_assessed", &MessageBuilder::obligation_assessed},
        {"obligation_adjusted", &MessageBuilder::obligation_adjusted},
        {"arrangement_created", &MessageBuilder::arrangement_created},
        {"arrangement_activated", &MessageBuilder::arrangement_activated},
        {"arrangement_updated", &MessageBuilder::arrangement_updated},
        {"instalment_skipped", &MessageBuilder::instalment_skipped},
        {"arrangement_review", &MessageBuilder::arrangement_review},
        {"arrangement_cancelled", &MessageBuilder::arrangement_cancelled},
        {"payment", &MessageBuilder::payment},
        {"payment_returned", &MessageBuilder::payment_returned},
        {"business_date", &MessageBuilder::business_date},
    };
    for (const Entry& entry : kTypes)
      if (entry.name == type) return (this->*entry.build)();
    return Error{fmt::format("unknown message type \"{}\"", shown(type))};
  }

 private:
  Result<Message> fail() { return Error{check_.take_error()}; }

  template <class M>
  bool head(M& m) {
    m.event_id = envelope_.event_id;
    if (envelope_.account_id) {
      m.account_id = *envelope_.account_id;
      return true;
    }
    return check_.id(raw_.account_id, Path{"account_id"}, m.account_id);  // reports why
  }

  template <class M>
  Result<Message> done(M&& m) {
    if (!check_.currency(raw_.currency)) return fail();
    return Message{std::forward<M>(m)};
  }

  // Messages that name only an arrangement: activate and cancel (contract 2).
  template <class M>
  Result<Message> arrangement_only() {
    M m;
    if (!head(m) || !check_.id(raw_.arrangement_id, Path{"arrangement_id"}, m.arrangement_id)) return fail();
    return done(std::move(m));
  }

  Result<Message> obligation_assessed() {
    ObligationAssessed m;
    if (!head(m) || !check_.id(raw_.obligation_id, Path{"obligation_id"}, m.obligation_id) ||
        !check_.date(raw_.due_date, Path{"due_date"}, m.due_date) ||
        !check_.amounts(raw_.amounts, Sign::unsigned_only, Bound::at_least_zero, m.amounts) ||
        !check_.plan_eligible(raw_.plan_eligible, m.plan_eligible))
      return fail();
    return done(std::move(m));
  }

  Result<Message> obligation_adjusted() {
    ObligationAdjusted m;
    if (!head(m) || !check_.id(raw_.obligation_id, Path{"obligation_id"}, m.obligation_id) ||
        !check_.amounts(raw_.amounts, Sign::signed_allowed, Bound::any, m.deltas))
      return fail();
    return done(std::move(m));
  }

  Result<Message> arrangement_created() {
    ArrangementCreated m;
    if (!head(m) || !check_.id(raw_.arrangement_id, Path{"arrangement_id"}, m.arrangement_id) ||
        !check_.choice(raw_.kind, Path{"kind"}, kKinds, m.kind) ||
        !check_.covered_obligations(raw_, m.covered_obligations))
      return fail();
    // contract 6: exactly one of schedule / recommend
    const bool has_schedule = codec_raw::is_present(raw_.schedule_kind);
    const bool has_recommend = codec_raw::is_present(raw_.recommend.kind);
    if (has_schedule && has_recommend)
      return Error{"arrangement_created needs exactly one of \"schedule\" and \"recommend\", got both"};
    if (!has_schedule && !has_recommend)
      return Error{"missing required field \"schedule\" or \"recommend\" (exactly one of them)"};
    if (has_schedule && !check_.schedule(raw_, m.schedule.emplace())) return fail();
    if (has_recommend && !check_.recommend(raw_.recommend, m.recommend.emplace())) return fail();
    if (!check_.informational_date(raw_.start_date, Path{"start_date"})) return fail();
    // contract 6: settlement_amount required and > 0 for discount, rejected on other kinds
    const Path settlement{"settlement_amount"};
    if (m.kind == ArrangementKind::discount) {
      if (!raw_.settlement_amount.present())
        return Error{"missing required field \"settlement_amount\" (required for kind \"discount\")"};
      if (!check_.money(raw_.settlement_amount, settlement, Sign::unsigned_only, Bound::above_zero,
                        m.settlement_amount.emplace()))
        return fail();
    } else if (raw_.settlement_amount.present()) {
      check_.invalid(settlement, fmt::format("only allowed for kind \"discount\", not \"{}\"", to_string(m.kind)));
      return fail();
    }
    return done(std::move(m));
  }

  Result<Message> arrangement_activated() { return arrangement_only<ArrangementActivated>(); }
  Result<Message> arrangement_cancelled() { return arrangement_only<ArrangementCancelled>(); }

  // contract 6: replaces covered list and/or schedule; `recommend` here is an unknown field.
  Result<Message> arrangement_updated() {
    ArrangementUpdated m;
    if (!head(m) || !check_.id(raw_.arrangement_id, Path{"arrangement_id"}, m.arrangement_id)) return fail();
    const bool has_covered = codec_raw::is_present(raw_.covered_kind);
    const bool has_schedule = codec_raw::is_present(raw_.schedule_kind);
    if (!has_covered && !has_schedule)
      return Error{"missing required field \"covered_obligations\" or \"schedule\" (at least one of them)"};
    if (has_covered && !check_.covered_obligations(raw_, m.covered_obligations.emplace())) return fail();
    if (has_schedule && !check_.schedule(raw_, m.schedule.emplace())) return fail();
    return done(std::move(m));
  }

  Result<Message> instalment_skipped() {
    InstalmentSkipped m;
    if (!head(m) || !check_.id(raw_.arrangement_id, Path{"arrangement_id"}, m.arrangement_id) ||
        !check_.date(raw_.due_date, Path{"due_date"}, m.due_date))
      return fail();
    return done(std::move(m));
  }

  Result<Message> arrangement_review() {
    ArrangementReview m;
    if (!head(m) || !check_.id(raw_.arrangement_id, Path{"arrangement_id"}, m.arrangement_id) ||
        !check_.choice(raw_.requested_by, Path{"requested_by"}, kRequesters, m.requested_by))
      return fail();
    return done(std::move(m));
  }

  Result<Message> payment() {
    Payment m;
    if (!head(m) || !check_.id(raw_.payment_id, Path{"payment_id"}, m.payment_id) ||
        !check_.money(raw_.amount, Path{"amount"}, Sign::unsigned_only, Bound::above_zero, m.amount) ||
        !check_.date(raw_.received_date, Path{"received_date"}, m.received_date) ||
        !check_.choice(raw_.method, Path{"method"}, kMethods, m.method) ||
        !check_.optional_id(raw_.arrangement_id, Path{"arrangement_id"}, m.arrangement_id) ||
        !check_.optional_id(raw_.obligation_id, Path{"obligation_id"}, m.obligation_id))
      return fail();
    return done(std::move(m));
  }

  Result<Message> payment_returned() {
    PaymentReturned m;
    if (!head(m) || !check_.id(raw_.payment_id, Path{"payment_id"}, m.payment_id) ||
        !check_.date(raw_.return_date, Path{"return_date"}, m.return_date) ||
        !check_.reason_code(raw_.reason_code, m.reason_code))
      return fail();
    return done(std::move(m));
  }

  // contract 6: business_date messages ignore any account_id.
  Result<Message> business_date() {
    BusinessDate m;
    m.event_id = envelope_.event_id;
    if (!check_.date(raw_.date, Path{"date"}, m.date)) return fail();
    return done(std::move(m));
  }

  const RawMessage& raw_;
  FieldCheck& check_;
  DecodedLine& envelope_;
};

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The 1-based column of the first byte that is not well-formed UTF-8 (error path only).
std::size_t first_invalid_utf8_column(std::string_view line) {
  const auto* p = reinterpret_cast<const unsigned char*>(line.data());
  std::size_t i = 0;
  while (i < line.size()) {
    const codec_text::Utf8Step step = codec_text::utf8_step(p + i, line.size() - i);
    if (!step.valid) break;
    i += step.length;
  }
  return i + 1;
}

}  // namespace

struct Decoder::Impl {
  explicit Impl(const Rules& r) : rules(r) {}

  void decode(std::string_view line, std::size_t size_as_sent, DecodedLine& out);
  bool read_envelope(DecodedLine& out);
  const char* pad(std::string_view line);

  Rules rules;
  simdjson::ondemand::parser parser;
  std::unique_ptr<char[]> padded;  // the line plus SIMDJSON_PADDING, reused
  std::size_t padded_capacity = 0;
  codec_raw::StrictReader reader;
  RawMessage raw;
};

// simdjson reads up to SIMDJSON_PADDING bytes past the end: copy the line into a buffer
// that has them, grown geometrically and kept between calls.
const char* Decoder::Impl::pad(std::string_view line) {
  const std::size_t needed = line.size() + simdjson::SIMDJSON_PADDING;
  if (padded_capacity < needed) {
    padded_capacity = std::max(needed, padded_capacity * 2);
    padded = std::make_unique_for_overwrite<char[]>(padded_capacity);
  }
  std::memcpy(padded.get(), line.data(), line.size());
  std::memset(padded.get() + line.size(), ' ', simdjson::SIMDJSON_PADDING);
  return padded.get();
}

void Decoder::Impl::decode(std::string_view line, std::size_t size_as_sent, DecodedLine& out) {
  auto reject = [&](std::string reason) { out.message = Error{codec_text::one_line(reason)}; };
  // contract 6: over max_message_bytes is rejected unread
  if (size_as_sent > rules.max_message_bytes)
    return reject(
        fmt::format("message of {} bytes is over max_message_bytes ({})", size_as_sent, rules.max_message_bytes));
  // Only a message over the limit may arrive cut short.
  PAYDIST_INVARIANT(size_as_sent == line.size());
  if (is_blank(line)) return reject("blank line: no JSON object");
  if (!simdjson::validate_utf8(line.data(), line.size()))
    return reject(fmt::format("invalid UTF-8 at column {}", first_invalid_utf8_column(line)));
  if (line.starts_with("\xEF\xBB\xBF")) return reject("byte-order mark at the start of the line");

  const char* text = pad(line);
  if (parser.capacity() < line.size()) {
    // Grow geometrically too (up to the largest line allowed), so that slowly growing
    // lines do not reallocate each time.
    const std::size_t capacity = std::max(line.size(), std::min(2 * parser.capacity(), rules.max_message_bytes));
    if (auto e = parser.allocate(capacity, codec_raw::kParserMaxDepth))
      return reject(fmt::format("cannot parse: {}", simdjson::error_message(e)));
  }
  raw.clear();
  simdjson::ondemand::document doc;
  auto one_more = [](std::size_t n) { return std::max(n, n + 1); };  // saturating
  const codec_raw::Limits limits{one_more(rules.max_obligations_per_account), one_more(rules.max_instalments)};
  if (auto e = parser.iterate(text, line.size(), padded_capacity).get(doc))
    return reject(fmt::format("invalid JSON: {}", codec_raw::json_error_text(e)));
  const codec_raw::RootShape shape = reader.read(doc, text, limits, raw);
  if (shape != codec_raw::RootShape::object) return reject(reader.error());

  if (!read_envelope(out)) return;
  FieldCheck check{rules};
  MessageBuilder builder{raw, check, out};
  Result<Message> message = builder.build();
  if (message) {
    out.message = std::move(message);
  } else {
    reject(message.error());
  }
}

// contract 6: the envelope ends with a valid event_id; a valid account_id and the
// business_date scope are noted for the redelivery check.
bool Decoder::Impl::read_envelope(DecodedLine& out) {
  FieldCheck check{rules};
  EventId event_id;
  if (!check.id(raw.event_id, Path{"event_id"}, event_id)) {
    out.message = Error{codec_text::one_line(check.take_error())};
    return false;
  }
  out.envelope_ok = true;
  out.event_id = std::move(event_id);
  out.business_date_scope = raw.type.kind == Kind::string && raw.type.text == "business_date";
  if (raw.account_id.kind == Kind::string && is_valid_id(raw.account_id.text))
    out.account_id = AccountId::trusted(raw.account_id.text);
  return true;
}

Decoder::Decoder(const Rules& rules) : impl_(std::make_unique<Impl>(rules)) {}
Decoder::~Decoder() = default;

DecodedLine Decoder::decode(std::string_view line) { return decode(line, line.size()); }

DecodedLine Decoder::decode(std::string_view line, std::size_t size_as_sent) {
  PAYDIST_INVARIANT(size_as_sent >= line.size());
  DecodedLine out;
  try {
    impl_->decode(line, size_as_sent, out);
  } catch (const std::exception& e) {  // only allocation can throw here
    out = DecodedLine{};
    out.message = Error{fmt::format("cannot decode: {}", e.what())};
  }
  return out;
}

}  // namespace paydist
