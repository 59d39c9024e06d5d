// tests/connectors/codec_decode_test.cpp: the decoder of connectors/codec (contract 1, 2, 6):
// envelope order, strict JSON at any depth, and each field's presence, type and range.
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "connectors/codec.h"
#include "connectors/codec_raw.h"

namespace paydist {
namespace {

// A message as (key, raw JSON value) pairs, so a test can drop or replace one field.
class Line {
 public:
  Line(std::initializer_list<std::pair<std::string, std::string>> fields) : fields_(fields) {}
  Line with(const std::string& key, const std::string& raw_value) const {
    Line copy = *this;
    for (auto& [k, v] : copy.fields_)
      if (k == key) {
        v = raw_value;
        return copy;
      }
    copy.fields_.emplace_back(key, raw_value);
    return copy;
  }
  Line without(const std::string& key) const {
    Line copy = *this;
    std::erase_if(copy.fields_, [&](const auto& f) { return f.first == key; });
    return copy;
  }
  std::string str() const {
    std::string out = "{";
    for (const auto& [k, v] : fields_) {
      if (out.size() > 1) out += ',';
      out += '"' + k + "\":" + v;
    }
    return out + '}';
  }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

const Line kAssessed{{"type", R"("obligation_assessed")"},
                     {"event_id", R"("e1")"},
                     {"account_id", R"("A1")"},
                     {"obligation_id", R"("O1")"},
                     {"due_date", R"("2026-04-30")"},
                     {"amounts", R"({"tax":"1000.00","penalty":"20.5","interest":"0.05"})"}};
const Line kAdjusted{{"type", R"("obligation_adjusted")"},
                     {"event_id", R"("e2")"},
                     {"account_id", R"("A1")"},
                     {"obligation_id", R"("O1")"},
                     {"amounts", R"({"tax":"-5.00","interest":"2"})"}};
const Line kCreated{
    {"type", R"("arrangement_created")"},
    {"event_id", R"("e3")"},
    {"account_id", R"("A1")"},
    {"arrangement_id", R"("R1")"},
    {"kind", R"("cash")"},
    {"covered_obligations", R"(["O1","O2"])"},
    {"schedule", R"([{"due_date":"2026-01-31","amount":"500.00"},{"due_date":"2026-02-28","amount":"500"}])"}};
const Line kRecommended{
    {"type", R"("arrangement_created")"},
    {"event_id", R"("e4")"},
    {"account_id", R"("A1")"},
    {"arrangement_id", R"("R2")"},
    {"kind", R"("direct_debit")"},
    {"covered_obligations", R"(["O1"])"},
    {"recommend", R"({"rule":"equal_instalments","count":4,"frequency":"monthly","first_due_date":"2026-01-31"})"}};
const Line kActivated{{"type", R"("arrangement_activated")"},
                      {"event_id", R"("e5")"},
                      {"account_id", R"("A1")"},
                      {"arrangement_id", R"("R1")"}};
const Line kUpdated{{"type", R"("arrangement_updated")"},
                    {"event_id", R"("e6")"},
                    {"account_id", R"("A1")"},
                    {"arrangement_id", R"("R1")"},
                    {"covered_obligations", R"(["O2"])"},
                    {"schedule", R"([{"due_date":"2026-03-31","amount":"1.00"}])"}};
const Line kSkipped{{"type", R"("instalment_skipped")"},
                    {"event_id", R"("e7")"},
                    {"account_id", R"("A1")"},
                    {"arrangement_id", R"("R1")"},
                    {"due_date", R"("2026-01-31")"}};
const Line kReview{{"type", R"("arrangement_review")"},
                   {"event_id", R"("e8")"},
                   {"account_id", R"("A1")"},
                   {"arrangement_id", R"("R1")"},
                   {"requested_by", R"("agency")"}};
const Line kCancelled{{"type", R"("arrangement_cancelled")"},
                      {"event_id", R"("e9")"},
                      {"account_id", R"("A1")"},
                      {"arrangement_id", R"("R1")"}};
const Line kPayment{{"type", R"("payment")"},  {"event_id", R"("e10")"},  {"account_id", R"("A1")"},
                    {"payment_id", R"("P1")"}, {"amount", R"("100.00")"}, {"received_date", R"("2026-03-01")"},
                    {"method", R"("card")"}};
const Line kReturned{{"type", R"("payment_returned")"},  {"event_id", R"("e11")"},
                     {"account_id", R"("A1")"},          {"payment_id", R"("P1")"},
                     {"return_date", R"("2026-03-02")"}, {"reason_code", R"("R01")"}};
const Line kBusinessDate{{"type", R"("business_date")"}, {"event_id", R"("b1")"}, {"date", R"("2026-03-01")"}};

const std::vector<const Line*> kAllTypes = {&kAssessed, &kAdjusted,  &kCreated, &kActivated, &kUpdated,     &kSkipped,
                                            &kReview,   &kCancelled, &kPayment, &kReturned,  &kBusinessDate};

class Decode : public ::testing::Test {
 protected:
  DecodedLine decode(std::string_view line) { return decoder_.decode(line); }
  DecodedLine decode(const Line& line) { return decode(line.str()); }

  template <class M>
  M accepted(const std::string& line) {
    DecodedLine d = decode(line);
    EXPECT_TRUE(d.envelope_ok) << line;
    EXPECT_TRUE(d.message.ok()) << line << "\n  -> " << (d.message.ok() ? "" : d.message.error());
    if (!d.message.ok() || !std::holds_alternative<M>(*d.message)) {
      ADD_FAILURE() << "not the expected message type: " << line;
      return M{};
    }
    return std::get<M>(*d.message);
  }
  template <class M>
  M accepted(const Line& line) {
    return accepted<M>(line.str());
  }

  // Rejected, with a reason that is one line and contains `mentions`.
  std::string rejected(const std::string& line, const std::string& mentions) {
    DecodedLine d = decode(line);
    EXPECT_FALSE(d.message.ok()) << "accepted: " << line;
    if (d.message.ok()) return {};
    const std::string& reason = d.message.error();
    EXPECT_NE(reason.find(mentions), std::string::npos) << "reason: " << reason << "\n  line: " << line;
    EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
    return reason;
  }
  std::string rejected(const Line& line, const std::string& mentions) { return rejected(line.str(), mentions); }

  // Rejected as malformed JSON: the envelope fails too.
  std::string malformed(const std::string& line, const std::string& mentions) {
    std::string reason = rejected(line, mentions);
    EXPECT_FALSE(decode(line).envelope_ok) << line;
    EXPECT_EQ(reason.rfind("invalid JSON: ", 0), 0u) << reason;
    return reason;
  }

  // A payment carrying `raw` in an unknown field: for JSON rules that apply everywhere.
  static std::string with_extra(const std::string& raw) { return kPayment.with("extra", raw).str(); }

  Rules rules_;
  Decoder decoder_{rules_};
};

Line recommend_line(const std::string& body) { return kRecommended.with("recommend", body); }

std::string nested_arrays(int count) { return std::string(count, '[') + std::string(count, ']'); }

// ---------------------------------------------------------------- each type accepted

TEST_F(Decode, AcceptsObligationAssessedWithAllFields) {
  auto m = accepted<ObligationAssessed>(kAssessed.with("plan_eligible", "false").with("tax_type", R"("GST")"));
  EXPECT_EQ(m.event_id.str(), "e1");
  EXPECT_EQ(m.account_id.str(), "A1");
  EXPECT_EQ(m.obligation_id.str(), "O1");
  EXPECT_EQ(m.due_date, Date::parse("2026-04-30").value());
  EXPECT_EQ(m.amounts.tax.cents(), 100000);
  EXPECT_EQ(m.amounts.penalty.cents(), 2050);
  EXPECT_EQ(m.amounts.interest.cents(), 5);
  EXPECT_FALSE(m.plan_eligible);
}

TEST_F(Decode, DefaultsPlanEligibleToTrue) { EXPECT_TRUE(accepted<ObligationAssessed>(kAssessed).plan_eligible); }

TEST_F(Decode, AcceptsObligationAdjustedWithSignedDeltas) {
  auto m = accepted<ObligationAdjusted>(kAdjusted);
  EXPECT_EQ(m.deltas.tax.cents(), -500);
  EXPECT_EQ(m.deltas.penalty.cents(), 0);
  EXPECT_EQ(m.deltas.interest.cents(), 200);
}

TEST_F(Decode, AcceptsArrangementCreatedWithSchedule) {
  auto m = accepted<ArrangementCreated>(kCreated);
  EXPECT_EQ(m.arrangement_id.str(), "R1");
  EXPECT_EQ(m.kind, ArrangementKind::cash);
  ASSERT_EQ(m.covered_obligations.size(), 2u);
  EXPECT_EQ(m.covered_obligations[1].str(), "O2");
  ASSERT_TRUE(m.schedule.has_value());
  ASSERT_EQ(m.schedule->size(), 2u);
  EXPECT_EQ((*m.schedule)[1].due_date, Date::parse("2026-02-28").value());
  EXPECT_EQ((*m.schedule)[1].amount.cents(), 50000);
  EXPECT_FALSE(m.recommend.has_value());
  EXPECT_FALSE(m.settlement_amount.has_value());
}

TEST_F(Decode, AcceptsArrangementCreatedWithEqualInstalmentsRecommendation) {
  auto m = accepted<ArrangementCreated>(kRecommended);
  EXPECT_EQ(m.kind, ArrangementKind::direct_debit);
  EXPECT_FALSE(m.schedule.has_value());
  ASSERT_TRUE(m.recommend.has_value());
  EXPECT_EQ(m.recommend->rule, Recommend::Rule::equal_instalments);
  EXPECT_EQ(m.recommend->count, 4);
  EXPECT_EQ(m.recommend->frequency, Frequency::monthly);
  EXPECT_EQ(m.recommend->first_due_date, Date::parse("2026-01-31").value());
}

TEST_F(Decode, AcceptsArrangementCreatedWithFixedAmountRecommendation) {
  auto m = accepted<ArrangementCreated>(kRecommended.with(
      "recommend",
      R"({"rule":"fixed_amount","amount":"100.00","frequency":"fortnightly","first_due_date":"2026-02-02"})"));
  EXPECT_EQ(m.recommend->rule, Recommend::Rule::fixed_amount);
  EXPECT_EQ(m.recommend->amount.cents(), 10000);
  EXPECT_EQ(m.recommend->frequency, Frequency::fortnightly);
}

TEST_F(Decode, AcceptsDiscountWithSettlementAmount) {
  auto m =
      accepted<ArrangementCreated>(kCreated.with("kind", R"("discount")").with("settlement_amount", R"("1500.00")"));
  EXPECT_EQ(m.kind, ArrangementKind::discount);
  ASSERT_TRUE(m.settlement_amount.has_value());
  EXPECT_EQ(m.settlement_amount->cents(), 150000);
}

TEST_F(Decode, AcceptsArrangementActivated) {
  EXPECT_EQ(accepted<ArrangementActivated>(kActivated).arrangement_id.str(), "R1");
}

TEST_F(Decode, AcceptsArrangementUpdatedWithBothLists) {
  auto m = accepted<ArrangementUpdated>(kUpdated);
  ASSERT_TRUE(m.covered_obligations.has_value());
  EXPECT_EQ(m.covered_obligations->at(0).str(), "O2");
  ASSERT_TRUE(m.schedule.has_value());
  EXPECT_EQ(m.schedule->size(), 1u);
}

TEST_F(Decode, AcceptsArrangementUpdatedWithOnlyCoveredObligations) {
  auto m = accepted<ArrangementUpdated>(kUpdated.without("schedule"));
  EXPECT_TRUE(m.covered_obligations.has_value());
  EXPECT_FALSE(m.schedule.has_value());
}

TEST_F(Decode, AcceptsArrangementUpdatedWithOnlySchedule) {
  auto m = accepted<ArrangementUpdated>(kUpdated.with("covered_obligations", "null"));
  EXPECT_FALSE(m.covered_obligations.has_value());
  EXPECT_TRUE(m.schedule.has_value());
}

TEST_F(Decode, AcceptsInstalmentSkipped) {
  EXPECT_EQ(accepted<InstalmentSkipped>(kSkipped).due_date, Date::parse("2026-01-31").value());
}

TEST_F(Decode, AcceptsArrangementReviewByAgencyAndCustomer) {
  EXPECT_EQ(accepted<ArrangementReview>(kReview).requested_by, RequestedBy::agency);
  EXPECT_EQ(accepted<ArrangementReview>(kReview.with("requested_by", R"("customer")")).requested_by,
            RequestedBy::customer);
}

TEST_F(Decode, AcceptsArrangementCancelledWithAnyReason) {
  EXPECT_EQ(
      accepted<ArrangementCancelled>(kCancelled.with("reason", R"({"text":["any",1,null]})")).arrangement_id.str(),
      "R1");
}

TEST_F(Decode, AcceptsPaymentWithOptionalIds) {
  auto m = accepted<Payment>(kPayment.with("arrangement_id", R"("R1")").with("obligation_id", R"("O9")"));
  EXPECT_EQ(m.payment_id.str(), "P1");
  EXPECT_EQ(m.amount.cents(), 10000);
  EXPECT_EQ(m.received_date, Date::parse("2026-03-01").value());
  EXPECT_EQ(m.method, PaymentMethod::card);
  EXPECT_EQ(m.arrangement_id->str(), "R1");
  EXPECT_EQ(m.obligation_id->str(), "O9");
}

TEST_F(Decode, AcceptsEveryPaymentMethod) {
  const std::pair<const char*, PaymentMethod> methods[] = {{"cash", PaymentMethod::cash},
                                                           {"card", PaymentMethod::card},
                                                           {"bpay", PaymentMethod::bpay},
                                                           {"eft", PaymentMethod::eft},
                                                           {"direct_debit", PaymentMethod::direct_debit},
                                                           {"cheque", PaymentMethod::cheque},
                                                           {"other", PaymentMethod::other}};
  for (const auto& [name, method] : methods)
    EXPECT_EQ(accepted<Payment>(kPayment.with("method", std::string("\"") + name + "\"")).method, method) << name;
}

TEST_F(Decode, AcceptsPaymentReturned) {
  auto m = accepted<PaymentReturned>(kReturned);
  EXPECT_EQ(m.return_date, Date::parse("2026-03-02").value());
  EXPECT_EQ(m.reason_code, "R01");
}

TEST_F(Decode, AcceptsBusinessDate) {
  auto m = accepted<BusinessDate>(kBusinessDate);
  EXPECT_EQ(m.event_id.str(), "b1");
  EXPECT_EQ(m.date, Date::parse("2026-03-01").value());
}

TEST_F(Decode, AcceptsFieldsInAnyOrder) {
  auto m = accepted<Payment>(
      R"({"method":"eft","amount":"1.00","payment_id":"P1","account_id":"A1","received_date":"2026-03-01","event_id":"e","type":"payment"})");
  EXPECT_EQ(m.method, PaymentMethod::eft);
}

// ---------------------------------------------------------------- envelope

TEST_F(Decode, EnvelopeHoldsEventIdAndAccountIdWhenBodyIsInvalid) {
  DecodedLine d = decode(kPayment.with("amount", R"("1e3")"));
  EXPECT_TRUE(d.envelope_ok);
  EXPECT_EQ(d.event_id.str(), "e10");
  ASSERT_TRUE(d.account_id.has_value());
  EXPECT_EQ(d.account_id->str(), "A1");
  EXPECT_FALSE(d.business_date_scope);
  EXPECT_FALSE(d.message.ok());
}

TEST_F(Decode, EnvelopeMarksBusinessDateScope) {
  DecodedLine d = decode(kBusinessDate.without("date"));
  EXPECT_TRUE(d.envelope_ok);
  EXPECT_TRUE(d.business_date_scope);
  EXPECT_FALSE(d.message.ok());
}

TEST_F(Decode, EnvelopeOmitsInvalidAccountId) {
  DecodedLine d = decode(kPayment.with("account_id", R"("bad id")"));
  EXPECT_TRUE(d.envelope_ok);
  EXPECT_FALSE(d.account_id.has_value());
  ASSERT_FALSE(d.message.ok());
  EXPECT_NE(d.message.error().find("field \"account_id\""), std::string::npos) << d.message.error();
}

TEST_F(Decode, EnvelopeIsOkWhenTypeIsUnknown) {
  DecodedLine d = decode(kPayment.with("type", R"("refund")"));
  EXPECT_TRUE(d.envelope_ok);
  rejected(kPayment.with("type", R"("refund")"), "unknown message type \"refund\"");
}

TEST_F(Decode, RejectsMissingEventIdInEnvelope) {
  DecodedLine d = decode(kPayment.without("event_id"));
  EXPECT_FALSE(d.envelope_ok);
  rejected(kPayment.without("event_id"), "missing required field \"event_id\"");
}

TEST_F(Decode, RejectsNullEventIdAsMissing) {
  rejected(kPayment.with("event_id", "null"), "missing required field \"event_id\"");
  EXPECT_FALSE(decode(kPayment.with("event_id", "null")).envelope_ok);
}

TEST_F(Decode, RejectsNumericEventId) {
  rejected(kPayment.with("event_id", "12"), "field \"event_id\": expected a string, got a number");
  EXPECT_FALSE(decode(kPayment.with("event_id", "12")).envelope_ok);
}

TEST_F(Decode, RejectsEventIdOutsideIdAlphabet) {
  for (const char* bad : {R"("")", R"("a b")", R"("a/b")", R"("é")", R"("a\u0000")"}) {
    rejected(kPayment.with("event_id", bad), "field \"event_id\": invalid event_id");
    EXPECT_FALSE(decode(kPayment.with("event_id", bad)).envelope_ok) << bad;
  }
}

TEST_F(Decode, AcceptsEventIdOf64CharactersAndRejects65) {
  const std::string id64(64, 'x');
  EXPECT_EQ(accepted<Payment>(kPayment.with("event_id", '"' + id64 + '"')).event_id.str(), id64);
  rejected(kPayment.with("event_id", "\"" + id64 + "x\""), "invalid event_id");
}

TEST_F(Decode, AcceptsEveryCharacterOfTheIdAlphabet) {
  accepted<Payment>(kPayment.with("payment_id", R"("AZaz09._:-")"));
}

TEST_F(Decode, RejectsLineOverMaxMessageBytesUnread) {
  Rules small;
  small.max_message_bytes = 150;
  Decoder decoder{small};
  std::string line = kPayment.str();
  line += std::string(150 - line.size(), ' ');
  EXPECT_TRUE(decoder.decode(line).message.ok());  // exactly at the limit
  line += ' ';
  DecodedLine d = decoder.decode(line);
  EXPECT_FALSE(d.envelope_ok);
  ASSERT_FALSE(d.message.ok());
  EXPECT_NE(d.message.error().find("max_message_bytes"), std::string::npos) << d.message.error();
}

TEST_F(Decode, ChecksSizeBeforeUtf8) {
  Rules small;
  small.max_message_bytes = 4;
  Decoder decoder{small};
  DecodedLine d = decoder.decode("\xff\xff\xff\xff\xff");
  EXPECT_NE(d.message.error().find("max_message_bytes"), std::string::npos) << d.message.error();
}

// A message cut short where it was read (the Kafka consumer copies max_message_bytes + 1
// bytes of it) is rejected by its real size.
TEST_F(Decode, RejectsACutMessageByItsSizeAsSent) {
  Rules small;
  small.max_message_bytes = 150;
  Decoder decoder{small};
  const std::string cut(151, 'x');
  DecodedLine d = decoder.decode(cut, 5'000'000);
  EXPECT_FALSE(d.envelope_ok);
  ASSERT_FALSE(d.message.ok());
  EXPECT_EQ(d.message.error(), "message of 5000000 bytes is over max_message_bytes (150)");
}

TEST_F(Decode, RejectsBlankLinesGracefully) {
  for (const char* blank : {"", " ", "\t \r", "\r\n"}) {
    DecodedLine d = decode(blank);
    EXPECT_FALSE(d.envelope_ok);
    ASSERT_FALSE(d.message.ok());
    EXPECT_NE(d.message.error().find("blank"), std::string::npos);
  }
}

TEST_F(Decode, RejectsInvalidUtf8BeforeJson) {
  std::string line = kPayment.with("extra", "\"\xC3\x28\"").str();
  rejected(line, "invalid UTF-8 at column");
  EXPECT_FALSE(decode(line).envelope_ok);
  // Invalid UTF-8 wins over invalid JSON: the check order of contract 6.
  rejected("{\xff", "invalid UTF-8");
}

TEST_F(Decode, RejectsUtf8EncodedSurrogatesAndOverlongForms) {
  rejected(with_extra("\"\xED\xA0\x80\""), "invalid UTF-8");      // U+D800 written as UTF-8
  rejected(with_extra("\"\xC0\xAF\""), "invalid UTF-8");          // overlong '/'
  rejected(with_extra("\"\xF4\x90\x80\x80\""), "invalid UTF-8");  // above U+10FFFF
}

TEST_F(Decode, AcceptsMultibyteUtf8InIgnoredFields) {
  accepted<Payment>(with_extra("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""));
}

TEST_F(Decode, RejectsByteOrderMark) {
  std::string line = "\xEF\xBB\xBF" + kPayment.str();
  rejected(line, "byte-order mark");
  EXPECT_FALSE(decode(line).envelope_ok);
}

TEST_F(Decode, RejectsTopLevelValuesThatAreNotObjects) {
  for (const char* line : {"[1,2]", "\"payment\"", "12", "true", "null"}) {
    rejected(line, "not a JSON object");
    EXPECT_FALSE(decode(line).envelope_ok);
  }
}

TEST_F(Decode, ChecksJsonBeforeObjectShape) {
  malformed("[1,2", "invalid JSON");
  malformed("[1,{\"a\":1,\"a\":2}]", "duplicate key \"a\"");
}

// ---------------------------------------------------------------- strict JSON

TEST_F(Decode, AcceptsJsonWhitespaceAroundObject) {
  accepted<Payment>(" \t\r\n" + kPayment.str() + " \t\r\n");
  accepted<Payment>(
      "{ \"type\" : \"payment\" ,\n\"event_id\":\"e\",\t\"account_id\":\"A\",\"payment_id\":\"P\","
      "\"amount\":\"1\",\"received_date\":\"2026-01-01\",\"method\":\"cash\"\r}");
}

TEST_F(Decode, RejectsNonJsonWhitespaceAroundObject) {
  malformed("\f" + kPayment.str(), "invalid JSON");
  malformed(kPayment.str() + "\v", "invalid JSON");
  malformed("\xC2\xA0" + kPayment.str(), "invalid JSON");  // no-break space
}

TEST_F(Decode, RejectsTrailingContentAfterObject) {
  malformed(kPayment.str() + " x", "invalid JSON");
  malformed(kPayment.str() + "}", "content after the top-level value");
  malformed(kPayment.str() + "{}", "content after the top-level value");
  malformed(kPayment.str() + kPayment.str(), "content after the top-level value");
  malformed(kPayment.str() + " 1", "invalid JSON");
  malformed(kPayment.str() + "\"", "invalid JSON");
}

TEST_F(Decode, RejectsTruncatedLine) {
  const std::string line = kCreated.str();
  for (std::size_t n = 1; n < line.size(); ++n) {
    DecodedLine d = decode(line.substr(0, n));
    EXPECT_FALSE(d.message.ok()) << n;
    EXPECT_FALSE(d.envelope_ok) << n;
  }
}

TEST_F(Decode, RejectsStructuralErrors) {
  malformed(R"({"type":"payment",})", "invalid JSON");
  malformed(R"({"type" "payment"})", "invalid JSON");
  malformed(R"({"type":"payment" "event_id":"e"})", "invalid JSON");
  malformed(R"({,"type":"payment"})", "invalid JSON");
  malformed(R"({type:"payment"})", "invalid JSON");
  malformed(R"({'type':'payment'})", "invalid JSON");
  malformed(with_extra("[1,]"), "invalid JSON");
  malformed(with_extra("[1 2]"), "invalid JSON");
  malformed(with_extra("[,1]"), "invalid JSON");
  malformed(with_extra(R"({"a":1,})"), "invalid JSON");
  malformed(with_extra(R"({"a"})"), "invalid JSON");
  malformed(with_extra(R"({"a":})"), "invalid JSON");
  malformed(with_extra(R"({1:2})"), "invalid JSON");
  malformed(with_extra(R"(["a":1])"), "invalid JSON");
  malformed(with_extra("[1]]"), "invalid JSON");
  malformed(with_extra("/* comment */ 1"), "invalid JSON");
}

TEST_F(Decode, RejectsInvalidLiterals) {
  for (const char* bad : {"tru", "truex", "True", "nul", "nulll", "falsey", "undefined"})
    malformed(with_extra(bad), "invalid JSON");
  malformed(with_extra("tru"), "invalid literal");
}

TEST_F(Decode, RejectsInvalidNumberSyntax) {
  for (const char* bad : {"01", "-", "1.", ".5", "+1", "1e", "1e+", "0x10", "1.5.5", "--1"})
    malformed(with_extra(bad), "invalid JSON");
  malformed(with_extra("01"), "invalid number \"01\"");
}

TEST_F(Decode, AcceptsValidNumbersInIgnoredFields) {
  accepted<Payment>(with_extra("[0,-0,1.5,-2.25e-3,1E+10,123456789012345678,-0.0,1e308]"));
}

TEST_F(Decode, RejectsNaN) {
  malformed(with_extra("NaN"), "NaN and Infinity");
  malformed(with_extra("[1,NaN]"), "NaN and Infinity");
}

TEST_F(Decode, RejectsInfinity) {
  malformed(with_extra("Infinity"), "NaN and Infinity");
  malformed(with_extra("-Infinity"), "NaN and Infinity");
}

TEST_F(Decode, RejectsNumberOutOfDoubleRange) {
  malformed(with_extra("1e400"), "out of range");
  malformed(with_extra("-1e400"), "out of range");
  malformed(with_extra(R"({"deep":[[1e309]]})"), "out of range");
}

// Underflow is not "out of range": 1e-400 rounds to zero like any inexact decimal.
TEST_F(Decode, AcceptsNumberThatUnderflowsToZero) { accepted<Payment>(with_extra("1e-400")); }

TEST_F(Decode, AcceptsIntegersAtThe64BitBounds) {
  accepted<Payment>(with_extra("18446744073709551615"));  // 2^64 - 1
  accepted<Payment>(with_extra("-9223372036854775808"));  // -2^63
}

TEST_F(Decode, RejectsIntegerAbove2Pow64Minus1) {
  malformed(with_extra("18446744073709551616"), "out of range");
  malformed(with_extra("100000000000000000000000"), "out of range");
}

TEST_F(Decode, RejectsIntegerBelowMinus2Pow63) { malformed(with_extra("-9223372036854775809"), "out of range"); }

TEST_F(Decode, AcceptsLargeNumberWithFraction) {
  accepted<Payment>(with_extra("100000000000000000000000.0"));  // a double, not an integer
}

TEST_F(Decode, RejectsDuplicateKeyAtTopLevel) {
  malformed(kPayment.str().insert(1, R"("amount":"5.00",)"), "duplicate key \"amount\"");
}

TEST_F(Decode, RejectsDuplicateUnknownKeyAtTopLevel) {
  malformed(kPayment.str().insert(1, R"("x":1,"x":1,)"), "duplicate key \"x\"");
}

TEST_F(Decode, RejectsDuplicateKeyInNestedObject) {
  malformed(kAssessed.with("amounts", R"({"tax":"1.00","tax":"2.00"})").str(), "duplicate key \"tax\"");
  malformed(with_extra(R"({"a":{"b":[{"c":1,"c":2}]}})"), "duplicate key \"c\"");
}

TEST_F(Decode, RejectsDuplicateKeyInScheduleEntry) {
  malformed(kCreated.with("schedule", R"([{"due_date":"2026-01-31","amount":"1","amount":"1"}])").str(),
            "duplicate key \"amount\"");
}

TEST_F(Decode, RejectsDuplicateKeyAfterUnescaping) {
  malformed(with_extra(R"({"a":1,"\u0061":2})"), "duplicate key \"a\"");
  malformed(kPayment.str().insert(1, R"("type\u0000":1,"type\u0000":2,)"), "duplicate key");
  malformed(kPayment.str().insert(1, R"("\u0065vent_id":"x",)"), "duplicate key \"event_id\"");
}

TEST_F(Decode, RejectsDuplicateKeyInLargeObject) {
  std::string object = "{";
  for (int i = 0; i < 40; ++i) object += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  accepted<Payment>(with_extra(object + "\"k40\":0}"));
  malformed(with_extra(object + "\"k17\":0}"), "duplicate key \"k17\"");
}

TEST_F(Decode, AcceptsSameKeyInDifferentObjects) {
  accepted<Payment>(with_extra(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})"));
}

TEST_F(Decode, AcceptsKeysDifferingOnlyAfterUnescaping) {
  accepted<Payment>(with_extra(R"({"a":1,"\u0041":2,"a\"":3,"a\\":4})"));
}

TEST_F(Decode, Accepts64NestedLevelsAndRejects65) {
  // The message object is level 1, so 63 nested arrays inside it make 64 levels.
  accepted<Payment>(with_extra(nested_arrays(63)));
  malformed(with_extra(nested_arrays(64)), "nesting deeper than 64 levels");
}

// The depth bound is ours (contract 6), and simdjson's parser is told a matching one rather
// than its default 1024 (codec_raw.h, kParserMaxDepth).
static_assert(codec_raw::kParserMaxDepth == codec_raw::kMaxJsonDepth + 1);

TEST_F(Decode, CountsObjectsAndArraysAlikeForDepth) {
  std::string mixed_64;  // 63 levels inside the message: objects and arrays alternating
  std::string close;
  for (int i = 0; i < 63; ++i) {
    if (i % 2 == 0) {
      mixed_64 += "{\"k\":";
      close = "}" + close;
    } else {
      mixed_64 += "[";
      close = "]" + close;
    }
  }
  accepted<Payment>(with_extra(mixed_64 + "1" + close));
  malformed(with_extra("[" + mixed_64 + "1" + close + "]"), "nesting deeper than 64 levels");
}

TEST_F(Decode, CountsDepthInsideKnownFields) {
  // amounts -> tax (level 3) holding 62 more arrays: level 64 at the innermost.
  accepted<ObligationAssessed>(kAssessed.with("amounts", R"({"tax":"1.00","x":)" + nested_arrays(62) + "}"));
  malformed(kAssessed.with("amounts", R"({"tax":"1.00","x":)" + nested_arrays(63) + "}").str(), "nesting deeper");
}

TEST_F(Decode, RejectsVeryDeepNestingWithoutCrashing) {
  malformed(with_extra(nested_arrays(100000)), "nesting deeper than 64 levels");
  malformed(with_extra(std::string(100000, '[')), "invalid JSON");
}

TEST_F(Decode, RejectsLoneHighSurrogate) {
  malformed(with_extra(R"("\ud800")"), "invalid JSON");
  malformed(with_extra(R"("\ud800x")"), "invalid JSON");
  malformed(with_extra(R"("\ud800\u0041")"), "invalid JSON");
  malformed(with_extra(R"("\ud800\ud800")"), "invalid JSON");
}

TEST_F(Decode, RejectsLoneLowSurrogate) {
  malformed(with_extra(R"("\udc00")"), "invalid JSON");
  malformed(with_extra(R"("\uDFFF")"), "invalid JSON");
  malformed(with_extra(R"("a\udc00\ud800")"), "invalid JSON");
}

TEST_F(Decode, RejectsLoneSurrogateInKey) { malformed(with_extra(R"({"\udc01":1})"), "invalid JSON"); }

TEST_F(Decode, AcceptsSurrogatePair) { accepted<Payment>(with_extra(R"("\ud83d\ude00")")); }

TEST_F(Decode, RejectsUnescapedControlCharacterInString) {
  malformed(with_extra("\"a\tb\""), "invalid JSON");
  malformed(with_extra(std::string("\"a\0b\"", 5)), "invalid JSON");
}

TEST_F(Decode, RejectsInvalidEscape) {
  for (const char* bad : {R"("\x41")", R"("\U0041")", R"("\u00G1")", R"("\u41")", R"("\a")"})
    malformed(with_extra(bad), "invalid JSON");
}

TEST_F(Decode, AcceptsEveryValidEscape) { accepted<Payment>(with_extra(R"("\"\\\/\b\f\n\r\t\u0000\u00e9\u20AC")")); }

TEST_F(Decode, RejectsUnterminatedString) { malformed(R"({"type":"payment)", "invalid JSON"); }

TEST_F(Decode, ReportsColumnOfJsonError) { malformed(R"({"a":1,"a":2})", "at column 8"); }

// The decoder must be as strict whichever simdjson kernel the CPU selects at run time.
TEST_F(Decode, IsEquallyStrictUnderEverySimdjsonImplementation) {
  const simdjson::implementation* original = simdjson::get_active_implementation();
  const std::string bad[] = {with_extra(R"("\udc00")"),    with_extra(R"("\ud800")"),          with_extra("\"a\tb\""),
                             with_extra("1e400"),          with_extra("18446744073709551616"), with_extra("NaN"),
                             with_extra("\"\xC3\x28\""),   with_extra(R"({"a":1,"a":2})"),     kPayment.str() + "}",
                             with_extra(nested_arrays(64))};
  for (const simdjson::implementation* implementation : simdjson::get_available_implementations()) {
    if (!implementation->supported_by_runtime_system()) continue;
    simdjson::get_active_implementation() = implementation;
    Decoder decoder{rules_};  // a new parser picks up the active implementation
    for (const std::string& line : bad)
      EXPECT_FALSE(decoder.decode(line).message.ok()) << implementation->name() << ": " << line;
    EXPECT_TRUE(decoder.decode(with_extra(R"(["\ud83d\ude00",18446744073709551615,1e308])")).message.ok())
        << implementation->name();
  }
  simdjson::get_active_implementation() = original;
}

TEST_F(Decode, AcceptsCountSurroundedByWhitespace) {
  EXPECT_EQ(accepted<ArrangementCreated>(
                recommend_line(
                    R"({"rule":"equal_instalments","count" : 7 ,"frequency":"weekly","first_due_date":"2026-01-31"})"))
                .recommend->count,
            7);
}

// ---------------------------------------------------------------- required and optional fields

TEST_F(Decode, RejectsEachMissingRequiredFieldByName) {
  for (const Line* line : kAllTypes) {
    for (const auto& [key, value] : line->fields()) {
      if (key == "event_id") continue;  // an envelope failure, tested above
      const bool either_or = (line == &kUpdated) && (key == "covered_obligations" || key == "schedule");
      if (either_or) continue;  // arrangement_updated needs one of them
      const std::string wanted = key == "schedule" ? "missing required field \"schedule\" or \"recommend\""
                                                   : "missing required field \"" + key + "\"";
      rejected(line->without(key), wanted);
      rejected(line->with(key, "null"), wanted);
    }
  }
}

TEST_F(Decode, RejectsRequiredStringFieldOfWrongType) {
  rejected(kPayment.with("payment_id", "7"), "field \"payment_id\": expected a string, got a number");
  rejected(kPayment.with("received_date", "20260301"), "field \"received_date\": expected a string");
  rejected(kPayment.with("method", "[\"card\"]"), "field \"method\": expected a string, got an array");
  rejected(kPayment.with("account_id", "{}"), "field \"account_id\": expected a string, got an object");
  rejected(kPayment.with("type", "true"), "field \"type\": expected a string, got a boolean");
}

TEST_F(Decode, RejectsMissingType) { rejected(kPayment.without("type"), "missing required field \"type\""); }

TEST_F(Decode, RejectsUnknownTypeCaseSensitively) {
  rejected(kPayment.with("type", R"("Payment")"), "unknown message type \"Payment\"");
}

TEST_F(Decode, IgnoresUnknownFieldsEverywhere) {
  accepted<Payment>(kPayment.with("zzz", R"({"nested":[1,{"x":null}]})").with("Amount", "5"));
  accepted<ObligationAssessed>(kAssessed.with("amounts", R"({"tax":"1.00","fees":"garbage"})"));
  accepted<ArrangementCreated>(kCreated.with("schedule", R"([{"due_date":"2026-01-31","amount":"1","note":[]}])"));
  accepted<ArrangementCreated>(kRecommended.with(
      "recommend",
      R"({"rule":"equal_instalments","count":2,"frequency":"weekly","first_due_date":"2026-01-31","why":{}})"));
}

TEST_F(Decode, AcceptsAnyJsonInTaxTypePeriodAndReason) {
  for (const char* value : {"null", "1.5", "\"x\"", "[1,[2]]", R"({"a":{"b":null}})", "true"}) {
    accepted<ObligationAssessed>(kAssessed.with("tax_type", value).with("period", value));
    accepted<ObligationAdjusted>(kAdjusted.with("reason", value));
  }
}

TEST_F(Decode, TreatsNullOptionalFieldsAsAbsent) {
  auto p =
      accepted<Payment>(kPayment.with("arrangement_id", "null").with("obligation_id", "null").with("currency", "null"));
  EXPECT_FALSE(p.arrangement_id.has_value());
  EXPECT_FALSE(p.obligation_id.has_value());
  EXPECT_TRUE(accepted<ObligationAssessed>(kAssessed.with("plan_eligible", "null")).plan_eligible);
  accepted<ArrangementCreated>(
      kCreated.with("start_date", "null").with("settlement_amount", "null").with("recommend", "null"));
}

TEST_F(Decode, RejectsInvalidOptionalIds) {
  rejected(kPayment.with("arrangement_id", R"("a b")"), "field \"arrangement_id\": invalid arrangement_id");
  rejected(kPayment.with("obligation_id", R"("")"), "field \"obligation_id\": invalid obligation_id");
  rejected(kPayment.with("obligation_id", "1"), "field \"obligation_id\": expected a string");
}

TEST_F(Decode, RejectsInvalidRequiredIds) {
  rejected(kAssessed.with("obligation_id", R"("O 1")"), "field \"obligation_id\": invalid obligation_id");
  rejected(kActivated.with("arrangement_id", R"("R#1")"), "field \"arrangement_id\": invalid arrangement_id");
  rejected(kReturned.with("payment_id", "\"" + std::string(65, 'p') + "\""),
           "field \"payment_id\": invalid payment_id");
  rejected(kPayment.with("account_id", R"("A\n1")"), "field \"account_id\": invalid account_id");
}

TEST_F(Decode, IgnoresAccountIdOnBusinessDate) {
  accepted<BusinessDate>(kBusinessDate.with("account_id", R"("not valid!")"));
  accepted<BusinessDate>(kBusinessDate.with("account_id", "42"));
}

TEST_F(Decode, RejectsPlanEligibleThatIsNotABoolean) {
  rejected(kAssessed.with("plan_eligible", R"("false")"),
           "field \"plan_eligible\": expected true or false, got a string");
  rejected(kAssessed.with("plan_eligible", "0"), "field \"plan_eligible\"");
}

TEST_F(Decode, RejectsEmptyReasonCode) {
  rejected(kReturned.with("reason_code", R"("")"), "field \"reason_code\": must not be empty");
  rejected(kReturned.with("reason_code", "1"), "field \"reason_code\": expected a string");
}

TEST_F(Decode, KeepsReasonCodeAsSent) {
  EXPECT_EQ(accepted<PaymentReturned>(kReturned.with("reason_code", R"(" AC04 \u00e9")")).reason_code,
            " AC04 \xC3\xA9");
}

TEST_F(Decode, AcceptsConfiguredCurrency) { accepted<Payment>(kPayment.with("currency", R"("AUD")")); }

TEST_F(Decode, RejectsOtherCurrencyCaseSensitively) {
  rejected(kPayment.with("currency", R"("NZD")"), "field \"currency\": \"NZD\" is not the configured currency \"AUD\"");
  rejected(kPayment.with("currency", R"("aud")"), "field \"currency\"");
  rejected(kPayment.with("currency", "1"), "field \"currency\": expected a string");
  rejected(kBusinessDate.with("currency", R"("USD")"), "field \"currency\"");
}

TEST_F(Decode, UsesTheConfiguredCurrency) {
  Rules nz;
  nz.currency = "NZD";
  Decoder decoder{nz};
  EXPECT_TRUE(decoder.decode(kPayment.with("currency", R"("NZD")").str()).message.ok());
  EXPECT_FALSE(decoder.decode(kPayment.with("currency", R"("AUD")").str()).message.ok());
}

// ---------------------------------------------------------------- enums

TEST_F(Decode, RejectsUnknownEnumValues) {
  rejected(kCreated.with("kind", R"("Cash")"), "field \"kind\": unknown value \"Cash\"");
  rejected(kPayment.with("method", R"("wire")"), "field \"method\": unknown value \"wire\"");
  rejected(kReview.with("requested_by", R"("court")"), "field \"requested_by\": unknown value \"court\"");
  rejected(kRecommended.with("recommend",
                             R"({"rule":"equal","count":2,"frequency":"monthly","first_due_date":"2026-01-31"})"),
           "field \"recommend.rule\": unknown value \"equal\"");
  rejected(
      kRecommended.with("recommend",
                        R"({"rule":"equal_instalments","count":2,"frequency":"daily","first_due_date":"2026-01-31"})"),
      "field \"recommend.frequency\": unknown value \"daily\"");
}

TEST_F(Decode, NamesTheAllowedEnumValues) {
  rejected(kReview.with("requested_by", R"("x")"), "(expected agency or customer)");
}

// ---------------------------------------------------------------- dates

TEST_F(Decode, AcceptsDatesAtTheContractBounds) {
  EXPECT_EQ(accepted<BusinessDate>(kBusinessDate.with("date", R"("0001-01-01")")).date, Date::min_valid());
  EXPECT_EQ(accepted<BusinessDate>(kBusinessDate.with("date", R"("9999-12-31")")).date, Date::max_valid());
  accepted<BusinessDate>(kBusinessDate.with("date", R"("2024-02-29")"));
}

TEST_F(Decode, RejectsInvalidDates) {
  for (const char* bad : {R"("0000-12-31")", R"("10000-01-01")", R"("2023-02-29")", R"("2026-13-01")", R"("2026-1-01")",
                          R"("2026-01-01T00:00:00")", R"("2026/01/01")", R"(" 2026-01-01")"})
    rejected(kBusinessDate.with("date", bad), "field \"date\": invalid date");
  rejected(kPayment.with("received_date", R"("2026-02-30")"), "field \"received_date\": invalid date \"2026-02-30\"");
  rejected(kSkipped.with("due_date", R"("x")"), "field \"due_date\": invalid date");
  rejected(kReturned.with("return_date", R"("2026-04-31")"), "field \"return_date\"");
}

TEST_F(Decode, ValidatesInformationalStartDate) {
  accepted<ArrangementCreated>(kCreated.with("start_date", R"("2026-01-01")"));
  rejected(kCreated.with("start_date", R"("2026-01-32")"), "field \"start_date\": invalid date");
  rejected(kCreated.with("start_date", "1"), "field \"start_date\": expected a string");
}

// ---------------------------------------------------------------- money

TEST_F(Decode, RejectsEveryBadMoneyLineOfScenario11) {
  // Lines 3 to 17 of the contract's scenario are rejected, each naming its field.
  const std::vector<std::pair<int, std::string>> expected = {
      {3, R"(field "amount": invalid money "1e3": not a decimal number)"},
      {4, R"(field "amount": invalid money "12.345")"},
      {5, R"(field "amount": invalid money "-5.00": must not be negative)"},
      {6, R"(field "amount": invalid money "1,000.00")"},
      {7, R"(field "amount": invalid money "12345678901234.00": more than 13 integer digits)"},
      {8, R"(field "amount": expected a money string such as "12.34", got a number)"},
      {9, R"(field "amount": invalid money "+5.00")"},
      {10, R"(field "amount": invalid money " 5.00")"},
      {11, R"(field "amount": invalid money "5.")"},
      {12, R"(field "amount": invalid money ".50")"},
      {13, R"(field "amount": must be greater than 0.00)"},
      {14, R"(field "currency": "NZD" is not the configured currency)"},
      {15, R"(field "received_date": invalid date "2026-02-30")"},
      {16, R"(field "amounts.tax": invalid money "-5.00": must not be negative)"},
      {17, R"(field "amounts.interest": invalid money "1e2")"},
  };
  std::ifstream in(PAYDIST_SOURCE_DIR "/tests/scenarios/11_bad_money.jsonl");
  ASSERT_TRUE(in) << "scenario file not found";
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 19u);
  std::size_t next = 0;
  for (int number = 1; number <= static_cast<int>(lines.size()); ++number) {
    const std::string& line = lines[static_cast<std::size_t>(number - 1)];
    if (next < expected.size() && expected[next].first == number) {
      rejected(line, expected[next].second);
      EXPECT_TRUE(decode(line).envelope_ok) << number;
      ++next;
    } else {
      DecodedLine d = decode(line);
      EXPECT_TRUE(d.message.ok()) << "line " << number << ": " << (d.message.ok() ? "" : d.message.error());
    }
  }
  EXPECT_EQ(next, expected.size());
}

TEST_F(Decode, AcceptsMoneyWithLeadingZerosAndOneFractionDigit) {
  EXPECT_EQ(accepted<Payment>(kPayment.with("amount", R"("0007.5")")).amount.cents(), 750);
  EXPECT_EQ(accepted<Payment>(kPayment.with("amount", R"("0000000000001")")).amount.cents(), 100);  // 13 digits
  rejected(kPayment.with("amount", R"("00000000000001")"), "more than 13 integer digits");
}

TEST_F(Decode, AcceptsLargestMessageAmount) {
  EXPECT_EQ(accepted<Payment>(kPayment.with("amount", R"("9999999999999.99")")).amount.cents(), kMaxMessageCents);
}

TEST_F(Decode, RejectsPaymentOfZero) {
  rejected(kPayment.with("amount", R"("0")"), "field \"amount\": must be greater than 0.00, got \"0\"");
  rejected(kPayment.with("amount", R"("-0.00")"), "field \"amount\": invalid money \"-0.00\": must not be negative");
}

TEST_F(Decode, AcceptsZeroAssessedAmountsAndEmptyAmounts) {
  auto m = accepted<ObligationAssessed>(kAssessed.with("amounts", R"({"tax":"0.00"})"));
  EXPECT_TRUE(m.amounts.tax.is_zero());
  auto empty = accepted<ObligationAssessed>(kAssessed.with("amounts", "{}"));
  EXPECT_EQ(empty.amounts, Amounts{});
  auto nulls = accepted<ObligationAssessed>(kAssessed.with("amounts", R"({"tax":null,"penalty":"1"})"));
  EXPECT_TRUE(nulls.amounts.tax.is_zero());
  EXPECT_EQ(nulls.amounts.penalty.cents(), 100);
}

TEST_F(Decode, RejectsNegativeZeroWhereUnsigned) {
  rejected(kAssessed.with("amounts", R"({"penalty":"-0.00"})"), "field \"amounts.penalty\": invalid money \"-0.00\"");
}

TEST_F(Decode, AcceptsSignedDeltasIncludingNegativeZero) {
  auto m = accepted<ObligationAdjusted>(kAdjusted.with("amounts", R"({"tax":"-0.00","penalty":"-9999999999999.99"})"));
  EXPECT_TRUE(m.deltas.tax.is_zero());
  EXPECT_EQ(m.deltas.penalty.cents(), -kMaxMessageCents);
}

TEST_F(Decode, RejectsMalformedSignedDeltas) {
  rejected(kAdjusted.with("amounts", R"({"tax":"--1"})"), "field \"amounts.tax\": invalid money");
  rejected(kAdjusted.with("amounts", R"({"tax":"-"})"), "field \"amounts.tax\": invalid money");
  rejected(kAdjusted.with("amounts", R"({"tax":-1})"), "field \"amounts.tax\": expected a money string");
}

TEST_F(Decode, RejectsAmountsThatAreNotAnObject) {
  rejected(kAssessed.with("amounts", R"("1000.00")"), "field \"amounts\": expected an object, got a string");
  rejected(kAdjusted.with("amounts", "[]"), "field \"amounts\": expected an object, got an array");
}

// ---------------------------------------------------------------- arrangement_created

TEST_F(Decode, RejectsBothScheduleAndRecommend) {
  rejected(
      kCreated.with("recommend",
                    R"({"rule":"equal_instalments","count":2,"frequency":"weekly","first_due_date":"2026-01-31"})"),
      "exactly one of \"schedule\" and \"recommend\", got both");
}

TEST_F(Decode, RejectsNeitherScheduleNorRecommend) {
  rejected(kCreated.without("schedule"), "missing required field \"schedule\" or \"recommend\"");
}

TEST_F(Decode, RejectsEmptyCoveredObligations) {
  rejected(kCreated.with("covered_obligations", "[]"), "field \"covered_obligations\": needs at least one");
}

TEST_F(Decode, RejectsRepeatedCoveredObligation) {
  rejected(kCreated.with("covered_obligations", R"(["O1","O2","O1"])"),
           "field \"covered_obligations[2]\": \"O1\" is listed more than once");
}

TEST_F(Decode, RejectsRepeatedCoveredObligationInLongList) {
  std::string list = "[";
  for (int i = 0; i < 50; ++i) list += "\"O" + std::to_string(i) + "\",";
  EXPECT_EQ(
      accepted<ArrangementCreated>(kCreated.with("covered_obligations", list + "\"O50\"]")).covered_obligations.size(),
      51u);
  rejected(kCreated.with("covered_obligations", list + "\"O7\"]"),
           "field \"covered_obligations[50]\": \"O7\" is listed");
}

TEST_F(Decode, RejectsInvalidCoveredObligationEntries) {
  rejected(kCreated.with("covered_obligations", R"(["O1",2])"), "field \"covered_obligations[1]\": expected a string");
  rejected(kCreated.with("covered_obligations", R"(["O1",null])"), "missing required field \"covered_obligations[1]\"");
  rejected(kCreated.with("covered_obligations", R"(["O 1"])"),
           "field \"covered_obligations[0]\": invalid obligation_id");
  rejected(kCreated.with("covered_obligations", R"("O1")"), "field \"covered_obligations\": expected an array");
}

TEST_F(Decode, RejectsCoveredListLongerThanAnAccountMayHold) {
  Rules few;
  few.max_obligations_per_account = 3;
  Decoder decoder{few};
  EXPECT_TRUE(decoder.decode(kCreated.with("covered_obligations", R"(["a","b","c"])").str()).message.ok());
  DecodedLine d = decoder.decode(kCreated.with("covered_obligations", R"(["a","b","c","d"])").str());
  ASSERT_FALSE(d.message.ok());
  EXPECT_NE(d.message.error().find("max_obligations_per_account"), std::string::npos) << d.message.error();
}

TEST_F(Decode, RejectsEmptySchedule) {
  rejected(kCreated.with("schedule", "[]"), "field \"schedule\": needs 1 to 1000 entries (max_instalments), got 0");
}

TEST_F(Decode, AcceptsMaxInstalmentsAndRejectsOneMore) {
  auto schedule = [](int count) {
    std::string out = "[";
    Date d = Date::parse("2026-01-01").value();
    for (int i = 0; i < count; ++i) {
      if (i > 0) out += ',';
      out += R"({"due_date":")" + d.plus_days(i).to_string() + R"(","amount":"1.00"})";
    }
    return out + "]";
  };
  EXPECT_EQ(accepted<ArrangementCreated>(kCreated.with("schedule", schedule(1000))).schedule->size(), 1000u);
  rejected(kCreated.with("schedule", schedule(1001)),
           "field \"schedule\": needs 1 to 1000 entries (max_instalments), got 1001");
}

TEST_F(Decode, RejectsScheduleDatesNotStrictlyIncreasing) {
  rejected(
      kCreated.with("schedule", R"([{"due_date":"2026-01-31","amount":"1"},{"due_date":"2026-01-31","amount":"1"}])"),
      "field \"schedule[1].due_date\": 2026-01-31 is not after the previous due date 2026-01-31");
  rejected(
      kCreated.with("schedule", R"([{"due_date":"2026-02-01","amount":"1"},{"due_date":"2026-01-31","amount":"1"}])"),
      "field \"schedule[1].due_date\"");
}

TEST_F(Decode, RejectsScheduleEntryProblemsByPosition) {
  rejected(kCreated.with("schedule", R"([{"due_date":"2026-01-31","amount":"0.00"}])"),
           "field \"schedule[0].amount\": must be greater than 0.00");
  rejected(
      kCreated.with("schedule", R"([{"due_date":"2026-01-31","amount":"1"},{"due_date":"2026-02-31","amount":"1"}])"),
      "field \"schedule[1].due_date\": invalid date");
  rejected(kCreated.with("schedule", R"([{"due_date":"2026-01-31"}])"),
           "missing required field \"schedule[0].amount\"");
  rejected(kCreated.with("schedule", R"([{"amount":"1"}])"), "missing required field \"schedule[0].due_date\"");
  rejected(kCreated.with("schedule", R"(["2026-01-31"])"), "field \"schedule[0]\": expected an object, got a string");
  rejected(kCreated.with("schedule", R"({"due_date":"2026-01-31","amount":"1"})"),
           "field \"schedule\": expected an array");
  rejected(kCreated.with("schedule", R"([{"due_date":"2026-01-31","amount":1}])"),
           "field \"schedule[0].amount\": expected a money string");
}

TEST_F(Decode, RejectsSettlementAmountMissingOnDiscount) {
  rejected(kCreated.with("kind", R"("discount")"), "missing required field \"settlement_amount\"");
}

TEST_F(Decode, RejectsZeroSettlementAmount) {
  rejected(kCreated.with("kind", R"("discount")").with("settlement_amount", R"("0.00")"),
           "field \"settlement_amount\": must be greater than 0.00");
}

TEST_F(Decode, RejectsSettlementAmountOnOtherKinds) {
  rejected(kCreated.with("settlement_amount", R"("100.00")"),
           "field \"settlement_amount\": only allowed for kind \"discount\"");
  rejected(kCreated.with("kind", R"("direct_debit")").with("settlement_amount", R"("x")"),
           "field \"settlement_amount\"");
}

// ---------------------------------------------------------------- recommend

TEST_F(Decode, RejectsCountWithFractionOrExponent) {
  for (const char* count : {"2.0", "2e0", "2E0", "20e-1", "1.5"})
    rejected(
        recommend_line(
            std::string(R"({"rule":"equal_instalments","frequency":"weekly","first_due_date":"2026-01-31","count":)") +
            count + "}"),
        "field \"recommend.count\": expected a whole number written without fraction or exponent");
}

TEST_F(Decode, RejectsCountBelowOne) {
  for (const char* count : {"0", "-1", "-0"})
    rejected(
        recommend_line(
            std::string(R"({"rule":"equal_instalments","frequency":"weekly","first_due_date":"2026-01-31","count":)") +
            count + "}"),
        "field \"recommend.count\": must be at least 1");
}

TEST_F(Decode, RejectsCountAboveMaxInstalments) {
  for (const char* count : {"1001", "18446744073709551615"})
    rejected(
        recommend_line(
            std::string(R"({"rule":"equal_instalments","frequency":"weekly","first_due_date":"2026-01-31","count":)") +
            count + "}"),
        "field \"recommend.count\": " + std::string(count) + " is more than max_instalments (1000)");
  EXPECT_EQ(accepted<ArrangementCreated>(
                recommend_line(
                    R"({"rule":"equal_instalments","frequency":"weekly","first_due_date":"2026-01-31","count":1000})"))
                .recommend->count,
            1000);
}

TEST_F(Decode, RejectsCountThatIsNotANumber) {
  rejected(
      recommend_line(R"({"rule":"equal_instalments","frequency":"weekly","first_due_date":"2026-01-31","count":"4"})"),
      "field \"recommend.count\": expected a whole number, got a string");
  rejected(recommend_line(R"({"rule":"equal_instalments","frequency":"weekly","first_due_date":"2026-01-31"})"),
           "missing required field \"recommend.count\"");
}

TEST_F(Decode, RejectsFixedAmountWithoutPositiveAmount) {
  rejected(recommend_line(R"({"rule":"fixed_amount","frequency":"weekly","first_due_date":"2026-01-31"})"),
           "missing required field \"recommend.amount\"");
  rejected(recommend_line(R"({"rule":"fixed_amount","amount":"0","frequency":"weekly","first_due_date":"2026-01-31"})"),
           "field \"recommend.amount\": must be greater than 0.00");
  rejected(
      recommend_line(R"({"rule":"fixed_amount","amount":"1e2","frequency":"weekly","first_due_date":"2026-01-31"})"),
      "field \"recommend.amount\": invalid money");
}

TEST_F(Decode, IgnoresRecommendKeysTheRuleDoesNotUse) {
  auto fixed = accepted<ArrangementCreated>(recommend_line(
      R"({"rule":"fixed_amount","amount":"5","count":1.5,"frequency":"weekly","first_due_date":"2026-01-31"})"));
  EXPECT_EQ(fixed.recommend->amount.cents(), 500);
  auto equal = accepted<ArrangementCreated>(recommend_line(
      R"({"rule":"equal_instalments","count":3,"amount":"junk","frequency":"weekly","first_due_date":"2026-01-31"})"));
  EXPECT_EQ(equal.recommend->count, 3);
}

TEST_F(Decode, RejectsRecommendMissingRuleFrequencyOrFirstDueDate) {
  rejected(recommend_line(R"({"count":3,"frequency":"weekly","first_due_date":"2026-01-31"})"),
           "missing required field \"recommend.rule\"");
  rejected(recommend_line(R"({"rule":"equal_instalments","count":3,"first_due_date":"2026-01-31"})"),
           "missing required field \"recommend.frequency\"");
  rejected(recommend_line(R"({"rule":"equal_instalments","count":3,"frequency":"weekly"})"),
           "missing required field \"recommend.first_due_date\"");
  rejected(
      recommend_line(R"({"rule":"equal_instalments","count":3,"frequency":"weekly","first_due_date":"2026-02-30"})"),
      "field \"recommend.first_due_date\": invalid date");
  rejected(recommend_line(R"([1])"), "field \"recommend\": expected an object, got an array");
}

// ---------------------------------------------------------------- arrangement_updated

TEST_F(Decode, RejectsUpdateWithNeitherCoveredObligationsNorSchedule) {
  rejected(kUpdated.without("schedule").without("covered_obligations"),
           "missing required field \"covered_obligations\" or \"schedule\"");
}

TEST_F(Decode, IgnoresRecommendOnUpdate) {
  const std::string recommend_body =
      R"({"rule":"equal_instalments","count":2,"frequency":"weekly","first_due_date":"2026-01-31"})";
  rejected(kUpdated.without("schedule").without("covered_obligations").with("recommend", recommend_body),
           "missing required field \"covered_obligations\" or \"schedule\"");
  auto m = accepted<ArrangementUpdated>(kUpdated.with("recommend", "\"garbage\""));
  EXPECT_TRUE(m.schedule.has_value());
}

TEST_F(Decode, ValidatesUpdateListsLikeCreation) {
  rejected(kUpdated.with("covered_obligations", "[]"), "field \"covered_obligations\": needs at least one");
  rejected(kUpdated.with("schedule", "[]"), "field \"schedule\": needs 1 to 1000 entries");
  rejected(kUpdated.with("covered_obligations", R"(["O1","O1"])"), "is listed more than once");
}

// ---------------------------------------------------------------- reasons and robustness

TEST_F(Decode, WritesReasonsOnOneLineOfValidUtf8) {
  std::string reason = rejected(kPayment.with("amount", R"("1\n2")"), "field \"amount\"");
  EXPECT_EQ(reason.find('\n'), std::string::npos);
  // Core quotes at most 40 bytes of a bad value; a cut inside "é" must not leak half of it.
  std::string long_value = "\"";
  for (int i = 0; i < 30; ++i) long_value += "\xC3\xA9";
  reason = rejected(kPayment.with("amount", long_value + "\""), "field \"amount\"");
  EXPECT_TRUE(simdjson::validate_utf8(reason.data(), reason.size())) << reason;
  for (unsigned char c : reason) EXPECT_GE(c, 0x20) << reason;
}

TEST_F(Decode, ReusesBuffersWithoutLeakingPreviousLines) {
  const std::string big = kCreated.with("extra", "\"" + std::string(200000, 'z') + "\"").str();
  accepted<ArrangementCreated>(big);
  auto small = accepted<Payment>(kPayment);
  EXPECT_EQ(small.payment_id.str(), "P1");
  EXPECT_FALSE(small.arrangement_id.has_value());
  accepted<ArrangementCreated>(big);
  // A message missing a field must not see the previous message's value for it.
  rejected(kPayment.without("payment_id"), "missing required field \"payment_id\"");
  rejected(kUpdated.without("schedule").without("covered_obligations"), "covered_obligations");
}

TEST_F(Decode, NeverThrowsAndAlwaysGivesOneLineReasonsOnMutatedInput) {
  std::mt19937 random{20260301};
  const std::string bases[] = {kCreated.str(), kRecommended.str(), kPayment.str(), kAssessed.str()};
  const char alphabet[] = "{}[]\",:\\u0123456789eE+-.ntrfalse \t\xC3\xA9\xED\xA0\x80\xff";
  for (int round = 0; round < 4000; ++round) {
    std::string line = bases[round % 4];
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % line.size();
      const char c = alphabet[random() % (sizeof alphabet - 1)];
      switch (random() % 3) {
        case 0:
          line[at] = c;
          break;
        case 1:
          line.insert(line.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          line.erase(at, 1);
          break;
      }
      if (line.empty()) line = "{";
    }
    DecodedLine d;
    ASSERT_NO_THROW(d = decoder_.decode(line)) << line;
    if (!d.message.ok()) {
      EXPECT_EQ(d.message.error().find('\n'), std::string::npos);
      EXPECT_FALSE(d.message.error().empty());
    } else {
      EXPECT_TRUE(d.envelope_ok);
    }
  }
}

}  // namespace
}  // namespace paydist
