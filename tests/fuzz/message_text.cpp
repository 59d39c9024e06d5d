// tests/fuzz/message_text.cpp: Message -> contract JSON, for the round trip (message_text.h).
// Field names and enum spellings are contract 2's; it must not share code with the decoder,
// or a mistake in both would go unseen.
#include "tests/fuzz/message_text.h"

#include <string_view>
#include <variant>

#include <fmt/format.h>

#include "connectors/codec_text.h"

namespace paydist::fuzz {
namespace {

const char* method_name(PaymentMethod m) {
  switch (m) {
    case PaymentMethod::cash: return "cash";
    case PaymentMethod::card: return "card";
    case PaymentMethod::bpay: return "bpay";
    case PaymentMethod::eft: return "eft";
    case PaymentMethod::direct_debit: return "direct_debit";
    case PaymentMethod::cheque: return "cheque";
    case PaymentMethod::other: return "other";
  }
  return "?";
}

const char* frequency_name(Frequency f) {
  switch (f) {
    case Frequency::weekly: return "weekly";
    case Frequency::fortnightly: return "fortnightly";
    case Frequency::monthly: return "monthly";
  }
  return "?";
}

// Appends `"key":value` pieces with the commas between them.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  void close() { out_ += '}'; }

  void text(std::string_view key, std::string_view value) {
    name(key);
    codec_text::append_json_string(out_, value);
  }
  template <class Tag>
  void id(std::string_view key, const BasicId<Tag>& value) { text(key, value.view()); }
  void date(std::string_view key, Date value) { text(key, value.to_string()); }
  void money(std::string_view key, Money value) { text(key, value.to_string()); }
  void raw(std::string_view key, std::string_view json) {
    name(key);
    out_ += json;
  }
  void amounts(std::string_view key, const Amounts& a) {
    name(key);
    ObjectWriter inner{out_};
    inner.money("tax", a.tax);
    inner.money("penalty", a.penalty);
    inner.money("interest", a.interest);
    inner.close();
  }
  void obligations(const std::vector<ObligationId>& ids) {
    name("covered_obligations");
    out_ += '[';
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) out_ += ',';
      codec_text::append_json_string(out_, ids[i].view());
    }
    out_ += ']';
  }
  void schedule(const std::vector<ScheduleEntry>& entries) {
    name("schedule");
    out_ += '[';
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out_ += ',';
      ObjectWriter entry{out_};
      entry.date("due_date", entries[i].due_date);
      entry.money("amount", entries[i].amount);
      entry.close();
    }
    out_ += ']';
  }
  void recommend(const Recommend& r) {
    name("recommend");
    ObjectWriter inner{out_};
    if (r.rule == Recommend::Rule::equal_instalments) {
      inner.text("rule", "equal_instalments");
      inner.raw("count", fmt::format("{}", r.count));
    } else {
      inner.text("rule", "fixed_amount");
      inner.money("amount", r.amount);
    }
    inner.text("frequency", frequency_name(r.frequency));
    inner.date("first_due_date", r.first_due_date);
    inner.close();
  }

 private:
  void name(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    codec_text::append_json_string(out_, key);
    out_ += ':';
  }
  std::string& out_;
  bool first_ = true;
};

template <class M>
void head(ObjectWriter& w, std::string_view type, const M& m) {
  w.text("type", type);
  w.id("event_id", m.event_id);
  w.id("account_id", m.account_id);
}

void write(ObjectWriter& w, const ObligationAssessed& m) {
  head(w, "obligation_assessed", m);
  w.id("obligation_id", m.obligation_id);
  w.date("due_date", m.due_date);
  w.amounts("amounts", m.amounts);
  w.raw("plan_eligible", m.plan_eligible ? "true" : "false");
}

void write(ObjectWriter& w, const ObligationAdjusted& m) {
  head(w, "obligation_adjusted", m);
  w.id("obligation_id", m.obligation_id);
  w.amounts("amounts", m.deltas);
}

void write(ObjectWriter& w, const ArrangementCreated& m) {
  head(w, "arrangement_created", m);
  w.id("arrangement_id", m.arrangement_id);
  w.text("kind", to_string(m.kind));
  w.obligations(m.covered_obligations);
  if (m.schedule) w.schedule(*m.schedule);
  if (m.recommend) w.recommend(*m.recommend);
  if (m.settlement_amount) w.money("settlement_amount", *m.settlement_amount);
}

void write(ObjectWriter& w, const ArrangementActivated& m) {
  head(w, "arrangement_activated", m);
  w.id("arrangement_id", m.arrangement_id);
}

void write(ObjectWriter& w, const ArrangementUpdated& m) {
  head(w, "arrangement_updated", m);
  w.id("arrangement_id", m.arrangement_id);
  if (m.covered_obligations) w.obligations(*m.covered_obligations);
  if (m.schedule) w.schedule(*m.schedule);
}

void write(ObjectWriter& w, const InstalmentSkipped& m) {
  head(w, "instalment_skipped", m);
  w.id("arrangement_id", m.arrangement_id);
  w.date("due_date", m.due_date);
}

void write(ObjectWriter& w, const ArrangementReview& m) {
  head(w, "arrangement_review", m);
  w.id("arrangement_id", m.arrangement_id);
  w.text("requested_by", to_string(m.requested_by));
}

void write(ObjectWriter& w, const ArrangementCancelled& m) {
  head(w, "arrangement_cancelled", m);
  w.id("arrangement_id", m.arrangement_id);
}

void write(ObjectWriter& w, const Payment& m) {
  head(w, "payment", m);
  w.id("payment_id", m.payment_id);
  w.money("amount", m.amount);
  w.date("received_date", m.received_date);
  w.text("method", method_name(m.method));
  if (m.arrangement_id) w.id("arrangement_id", *m.arrangement_id);
  if (m.obligation_id) w.id("obligation_id", *m.obligation_id);
}

void write(ObjectWriter& w, const PaymentReturned& m) {
  head(w, "payment_returned", m);
  w.id("payment_id", m.payment_id);
  w.date("return_date", m.return_date);
  w.text("reason_code", m.reason_code);
}

void write(ObjectWriter& w, const BusinessDate& m) {
  w.text("type", "business_date");
  w.id("event_id", m.event_id);
  w.date("date", m.date);
}

}  // namespace

std::string message_text(const Message& message) {
  std::string out;
  ObjectWriter writer{out};
  std::visit([&](const auto& m) { write(writer, m); }, message);
  writer.close();
  return out;
}

}  // namespace paydist::fuzz
