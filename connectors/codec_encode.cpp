// connectors/codec_encode.cpp: outputs and `inspect` as compact JSON (contract 4, 5, 6).
// Money always with two fraction digits, dates YYYY-MM-DD, a missing business date null.
// Writes what the engine decided; never computes a business value of its own.
#include <algorithm>

#include "connectors/codec.h"
#include "connectors/codec_text.h"
#include "core/instalments.h"

namespace paydist {

namespace codec_text {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  out.push_back('"');
  std::size_t run_start = 0;  // bytes [run_start, i) are copied as they are
  std::size_t i = 0;
  while (i < size) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {  // plain ASCII: ids, dates, codes
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const Utf8Step step = utf8_step(p + i, size - i);
      if (step.valid) {
        i += step.length;
        continue;
      }
      out.append(text.data() + run_start, i - run_start);
      out.append("\xEF\xBF\xBD");  // U+FFFD for the ill-formed subpart
      i += step.length;
      run_start = i;
      continue;
    }
    out.append(text.data() + run_start, i - run_start);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escape, sizeof escape);
      }
    }
    ++i;
    run_start = i;
  }
  out.append(text.data() + run_start, size - run_start);
  out.push_back('"');
}

}  // namespace codec_text

namespace {

using codec_text::append_json_string;

// contract 4: the raw message text in a reject is cut at 64 KiB.
constexpr std::size_t kRejectEventBytesMax = 64 * 1024;

void append_money(std::string& out, Money money) {
  out.push_back('"');
  money.append_to(out);
  out.push_back('"');
}

// "YYYY-MM-DD" written digit by digit: every output line holds dates, and Date::append_to's
// format string costs more than the rest of the line's encoding. Years outside 0..9999 (a
// deadline past the contract's range) take Date's own path.
void append_date(std::string& out, Date date) {
  const CivilDate c = date.civil();
  if (c.year < 0 || c.year > 9999) {
    out.push_back('"');
    date.append_to(out);
    out.push_back('"');
    return;
  }
  const auto digit = [](int v) { return static_cast<char>('0' + v % 10); };
  const char text[] = {'"',
                       digit(c.year / 1000), digit(c.year / 100), digit(c.year / 10), digit(c.year), '-',
                       digit(c.month / 10), digit(c.month), '-',
                       digit(c.day / 10), digit(c.day),
                       '"'};
  out.append(text, sizeof text);
}

void append_optional_date(std::string& out, const std::optional<Date>& date) {
  if (date) {
    append_date(out, *date);
  } else {
    out.append("null");
  }
}

template <class Tag>
void append_optional_id(std::string& out, const std::optional<BasicId<Tag>>& id) {
  if (id) {
    append_json_string(out, id->view());
  } else {
    out.append("null");
  }
}

void append_amounts(std::string& out, const Amounts& amounts) {
  out.append(R"({"tax":)");
  append_money(out, amounts.tax);
  out.append(R"(,"penalty":)");
  append_money(out, amounts.penalty);
  out.append(R"(,"interest":)");
  append_money(out, amounts.interest);
  out.push_back('}');
}

void append_obligation(std::string& out, const Obligation& obligation) {
  out.append(R"({"obligation_id":)");
  append_json_string(out, obligation.id.view());
  out.append(R"(,"due_date":)");
  append_date(out, obligation.due_date);
  out.append(R"(,"balance":)");
  append_amounts(out, obligation.balance);
  out.push_back('}');
}

void append_arrangement(std::string& out, const Arrangement& arrangement, std::optional<Date> business_date,
                        const Rules& rules) {
  out.append(R"({"arrangement_id":)");
  append_json_string(out, arrangement.id.view());
  out.append(R"(,"kind":)");
  append_json_string(out, to_string(arrangement.kind));
  out.append(R"(,"status":)");
  append_json_string(out, to_string(arrangement.status));
  out.append(R"(,"instalments":[)");
  bool first = true;
  for (const Instalment& instalment : arrangement.instalments) {
    if (!first) out.push_back(',');
    first = false;
    out.append(R"({"due_date":)");
    append_date(out, instalment.due_date);
    out.append(R"(,"amount":)");
    append_money(out, instalment.amount);
    out.append(R"(,"paid":)");
    append_money(out, instalment.paid());
    out.append(R"(,"status":)");
    append_json_string(out, to_string(instalment_status(arrangement, instalment, business_date, rules)));
    out.push_back('}');
  }
  out.append("]}");
}

}  // namespace

// contract 4, and contract 6 for REVIEW_DUE's requested_by.
void append_activity_json(std::string& out, const Activity& activity) {
  out.append(R"({"activity_id":)");
  append_json_string(out, activity.activity_id);
  out.append(R"(,"type":)");
  append_json_string(out, to_string(activity.type));
  out.append(R"(,"account_id":)");
  append_json_string(out, activity.account_id.view());
  out.append(R"(,"business_date":)");
  append_optional_date(out, activity.business_date);
  switch (activity.type) {
    case ActivityType::broken_arrangement:
      out.append(R"(,"arrangement_id":)");
      append_optional_id(out, activity.arrangement_id);
      out.append(R"(,"kind":)");
      append_json_string(out, to_string(activity.kind));
      out.append(R"(,"missed_due_date":)");
      append_date(out, activity.missed_due_date);
      out.append(R"(,"amount_missed":)");
      append_money(out, activity.amount);
      if (activity.reason_code) {  // only when a return caused the break
        out.append(R"(,"reason_code":)");
        append_json_string(out, *activity.reason_code);
      }
      break;
    case ActivityType::no_arrangement:
      out.append(R"(,"trigger":)");
      append_json_string(out, to_string(activity.trigger));
      out.append(R"(,"debt_balance":)");
      append_money(out, activity.debt_balance);
      if (activity.obligation_id) {
        out.append(R"(,"obligation_id":)");
        append_json_string(out, activity.obligation_id->view());
      }
      if (activity.arrangement_id) {
        out.append(R"(,"arrangement_id":)");
        append_json_string(out, activity.arrangement_id->view());
      }
      break;
    case ActivityType::arrangement_completed:
      out.append(R"(,"arrangement_id":)");
      append_optional_id(out, activity.arrangement_id);
      break;
    case ActivityType::review_due:
      out.append(R"(,"arrangement_id":)");
      append_optional_id(out, activity.arrangement_id);
      out.append(R"(,"requested_by":)");
      append_json_string(out, to_string(activity.requested_by));
      break;
    case ActivityType::unmatched_payment:
      out.append(R"(,"payment_id":)");
      append_optional_id(out, activity.payment_id);
      out.append(R"(,"amount":)");
      append_money(out, activity.amount);
      break;
  }
  out.push_back('}');
}

// contract 4 and 6: write_off adds arrangement_id, reversed adds reason_code.
void append_distribution_json(std::string& out, const Distribution& distribution) {
  out.append(R"({"event_id":)");
  append_json_string(out, distribution.event_id.view());
  out.append(R"(,"account_id":)");
  append_json_string(out, distribution.account_id.view());
  out.append(R"(,"payment_id":)");
  append_optional_id(out, distribution.payment_id);
  out.append(R"(,"kind":)");
  append_json_string(out, to_string(distribution.kind));
  out.append(R"(,"business_date":)");
  append_optional_date(out, distribution.business_date);
  out.append(R"(,"lines":[)");
  bool first = true;
  for (const DistributionLine& line : distribution.lines) {
    if (!first) out.push_back(',');
    first = false;
    out.append(R"({"obligation_id":)");
    append_json_string(out, line.obligation_id.view());
    out.append(R"(,"component":)");
    append_json_string(out, to_string(line.component));
    out.append(R"(,"amount":)");
    append_money(out, line.amount);
    out.push_back('}');
  }
  out.append(R"(],"credit":)");
  append_money(out, distribution.credit);
  if (distribution.kind == DistributionKind::write_off) {
    out.append(R"(,"arrangement_id":)");
    append_optional_id(out, distribution.arrangement_id);
  }
  if (distribution.kind == DistributionKind::reversed) {
    out.append(R"(,"reason_code":)");
    if (distribution.reason_code) {
      append_json_string(out, *distribution.reason_code);
    } else {
      out.append("null");
    }
  }
  out.push_back('}');
}

void append_reject_json(std::string& out, std::string_view source, std::string_view error, std::string_view raw) {
  out.append(R"({"source":)");
  append_json_string(out, source);
  out.append(R"(,"error":)");
  append_json_string(out, error);
  out.append(R"(,"event":)");
  append_json_string(out, codec_text::cut_on_utf8_boundary(raw, kRejectEventBytesMax));
  out.push_back('}');
}

// contract 5 and 6: obligations by (due_date, obligation_id), arrangements in creation order.
std::string inspect_json(const Account& account, std::optional<Date> business_date, const Rules& rules) {
  std::vector<const Obligation*> obligations;
  obligations.reserve(account.obligations.size());
  for (const Obligation& obligation : account.obligations) obligations.push_back(&obligation);
  std::sort(obligations.begin(), obligations.end(), [](const Obligation* a, const Obligation* b) {
    return a->due_date != b->due_date ? a->due_date < b->due_date : a->id < b->id;
  });

  std::string out;
  out.append(R"({"account_id":)");
  append_json_string(out, account.id.view());
  out.append(R"(,"credit":)");
  append_money(out, account.credit());
  out.append(R"(,"debt":)");
  append_money(out, account.debt());
  out.append(R"(,"obligations":[)");
  for (std::size_t i = 0; i < obligations.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_obligation(out, *obligations[i]);
  }
  out.append(R"(],"arrangements":[)");
  for (std::size_t i = 0; i < account.arrangements.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_arrangement(out, account.arrangements[i], business_date, rules);
  }
  out.append("]}");
  return out;
}

}  // namespace paydist
