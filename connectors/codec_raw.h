// connectors/codec_raw.h: private to the decoder. One strict pass over a JSON line with
// simdjson On Demand: proves the whole line is RFC 8259 JSON under contract 6's extra
// rules (unique keys, depth <= 64, numbers in range, no lone surrogates, nothing after the
// value) and, on the way, captures the raw text of the fields a message may use.
// It never judges a field's meaning; connectors/codec_decode.cpp does that afterwards.
//   StrictReader reader;  RawMessage raw;
//   RootShape shape = reader.read(doc, buffer_start, limits, raw);   // reader.error() if malformed
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "connectors/codec_text.h"

namespace paydist::codec_raw {

namespace sj = simdjson::ondemand;

// contract 6: nesting of arrays and objects deeper than 64 levels is malformed. The
// top-level value is level 1, so 64 nested containers (the message object included) are
// accepted and a 65th is rejected.
inline constexpr int kMaxJsonDepth = 64;
// simdjson's own bound, set explicitly instead of its default of 1024. On Demand checks it
// only in development builds of simdjson (SIMDJSON_DEVELOPMENT_CHECKS), so the reader below
// enforces kMaxJsonDepth itself, with its reason. The iterator goes one level below the
// deepest container the reader enters: with the bound at kMaxJsonDepth a development build
// asserted on 64 levels; at kMaxJsonDepth + 1 it accepts 64 and the reader rejects 65
// (tried with SIMDJSON_DEVELOPMENT_CHECKS=1, simdjson 3.0.1).
inline constexpr std::size_t kParserMaxDepth = kMaxJsonDepth + 1;

// Objects with up to this many keys are checked for duplicates pairwise; larger ones by
// sorting a copy of their keys.
inline constexpr std::size_t kPairwiseKeyCheckMax = 16;

enum class Kind : std::uint8_t { absent, null, string, number, boolean, object, array };

inline const char* describe(Kind kind) {
  switch (kind) {
    case Kind::absent:
      return "nothing";
    case Kind::null:
      return "null";
    case Kind::string:
      return "a string";
    case Kind::number:
      return "a number";
    case Kind::boolean:
      return "a boolean";
    case Kind::object:
      return "an object";
    case Kind::array:
      return "an array";
  }
  return "?";
}

// contract 6: null means absent.
constexpr bool is_present(Kind kind) { return kind != Kind::absent && kind != Kind::null; }

// A captured value. `text` is the unescaped string for a string, the raw token for a
// number; it points into the simdjson parser's buffers and lives until the next parse.
struct Scalar {
  Kind kind = Kind::absent;
  bool boolean = false;
  std::string_view text;
  bool present() const { return is_present(kind); }
};

struct RawAmounts {
  Kind kind = Kind::absent;
  Scalar tax, penalty, interest;
};

struct RawScheduleEntry {
  Kind kind = Kind::absent;
  Scalar due_date, amount;
};

struct RawRecommend {
  Kind kind = Kind::absent;
  Scalar rule, count, amount, frequency, first_due_date;
};

// Every field any of the eleven messages reads (contract 2), whatever the type says.
struct RawMessage {
  Scalar type, event_id, account_id, obligation_id, due_date, plan_eligible, arrangement_id, kind, start_date,
      settlement_amount, requested_by, payment_id, amount, received_date, method, return_date, reason_code, date,
      currency;
  RawAmounts amounts;
  Kind covered_kind = Kind::absent;
  std::vector<Scalar> covered;    // the first `Limits::covered_kept` entries
  std::size_t covered_count = 0;  // all entries
  Kind schedule_kind = Kind::absent;
  std::vector<RawScheduleEntry> schedule;  // the first `Limits::schedule_kept` entries
  std::size_t schedule_count = 0;          // all entries
  RawRecommend recommend;

  // Forgets the last message but keeps the vectors' capacity.
  void clear() {
    std::vector<Scalar> covered_buffer = std::move(covered);
    std::vector<RawScheduleEntry> schedule_buffer = std::move(schedule);
    *this = RawMessage{};
    covered = std::move(covered_buffer);
    covered.clear();
    schedule = std::move(schedule_buffer);
    schedule.clear();
  }
};

// How many list entries are kept for validation: one more than any valid message has, so
// that "too many" can still be reported while memory stays bounded.
struct Limits {
  std::size_t covered_kept = 0;
  std::size_t schedule_kept = 0;
};

inline const char* json_error_text(simdjson::error_code e) {
  switch (e) {
    case simdjson::UNESCAPED_CHARS:
      return "a control character in a string is not escaped";
    case simdjson::UNCLOSED_STRING:
      return "a string is not closed";
    case simdjson::STRING_ERROR:
      return "invalid escape in a string (bad \\ sequence or lone surrogate)";
    case simdjson::NUMBER_ERROR:
      return "invalid number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
    case simdjson::INCORRECT_TYPE:
      return "invalid literal";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "unbalanced braces or brackets, or content after the top-level value";
    case simdjson::TAPE_ERROR:
      return "unexpected character, or a misplaced comma, colon, brace or bracket";
    case simdjson::EMPTY:
      return "no JSON value";
    case simdjson::DEPTH_ERROR:
      return "nesting too deep";
    case simdjson::TRAILING_CONTENT:
      return "content after the top-level value";
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    default:
      return simdjson::error_message(e);
  }
}

enum class RootShape : std::uint8_t { malformed, not_object, object };

class StrictReader {
 public:
  // Reads the whole document. `malformed`: error() says why ("invalid JSON: ...").
  // `not_object`: valid JSON whose top-level value is not an object (error() names it).
  RootShape read(sj::document& doc, const char* buffer_start, Limits limits, RawMessage& out) {
    doc_ = &doc;
    buffer_start_ = buffer_start;
    limits_ = limits;
    keys_.clear();
    error_.clear();
    sj::json_type type{};
    if (auto e = doc.type().get(type)) return fail_root(e);
    if (type != sj::json_type::object) {
      if (!read_root_scalar_or_array(doc, type) || !at_document_end()) return RootShape::malformed;
      error_ = fmt::format("the message is not a JSON object (got {})", describe(kind_of(type)));
      return RootShape::not_object;
    }
    sj::object root;
    if (auto e = doc.get_object().get(root)) return fail_root(e);
    const bool ok = read_object(root, 1, [&](std::string_view key, sj::value& value, int level) {
      return read_message_field(key, value, level, out);
    });
    if (!ok || !at_document_end()) return RootShape::malformed;
    return RootShape::object;
  }

  const std::string& error() const { return error_; }

 private:
  struct Key {
    std::string_view text;  // unescaped
    const char* at;         // where it starts in the line
  };

  static Kind kind_of(sj::json_type type) {
    switch (type) {
      case sj::json_type::object:
        return Kind::object;
      case sj::json_type::array:
        return Kind::array;
      case sj::json_type::string:
        return Kind::string;
      case sj::json_type::number:
        return Kind::number;
      case sj::json_type::boolean:
        return Kind::boolean;
      case sj::json_type::null:
        return Kind::null;
    }
    return Kind::absent;
  }

  // ---- the fields messages use (contract 2); everything else is only validated ----

  bool read_message_field(std::string_view key, sj::value& value, int level, RawMessage& out) {
    struct ScalarField {
      std::string_view name;
      Scalar RawMessage::*slot;
    };
    static constexpr ScalarField kScalarFields[] = {
        {"type", &RawMessage::type},
        {"event_id", &RawMessage::event_id},
        {"account_id", &RawMessage::account_id},
        {"obligation_id", &RawMessage::obligation_id},
        {"due_date", &RawMessage::due_date},
        {"plan_eligible", &RawMessage::plan_eligible},
        {"arrangement_id", &RawMessage::arrangement_id},
        {"kind", &RawMessage::kind},
        {"start_date", &RawMessage::start_date},
        {"settlement_amount", &RawMessage::settlement_amount},
        {"requested_by", &RawMessage::requested_by},
        {"payment_id", &RawMessage::payment_id},
        {"amount", &RawMessage::amount},
        {"received_date", &RawMessage::received_date},
        {"method", &RawMessage::method},
        {"return_date", &RawMessage::return_date},
        {"reason_code", &RawMessage::reason_code},
        {"date", &RawMessage::date},
        {"currency", &RawMessage::currency},
    };
    for (const ScalarField& field : kScalarFields)
      if (field.name == key) return read_value(value, level, out.*field.slot);
    if (key == "amounts") return read_amounts(value, level, out.amounts);
    if (key == "covered_obligations") return read_covered(value, level, out);
    if (key == "schedule") return read_schedule(value, level, out);
    if (key == "recommend") return read_recommend(value, level, out.recommend);
    return skip_value(value, level);
  }

  bool read_amounts(sj::value& value, int level, RawAmounts& out) {
    return read_object_or_value(value, level, out.kind, [&](std::string_view key, sj::value& v, int lvl) {
      if (key == "tax") return read_value(v, lvl, out.tax);
      if (key == "penalty") return read_value(v, lvl, out.penalty);
      if (key == "interest") return read_value(v, lvl, out.interest);
      return skip_value(v, lvl);
    });
  }

  bool read_covered(sj::value& value, int level, RawMessage& out) {
    return read_array_or_value(value, level, out.covered_kind, [&](std::size_t, sj::value& v, int lvl) {
      ++out.covered_count;
      if (out.covered.size() >= limits_.covered_kept) return skip_value(v, lvl);
      return read_value(v, lvl, out.covered.emplace_back());
    });
  }

  bool read_schedule(sj::value& value, int level, RawMessage& out) {
    return read_array_or_value(value, level, out.schedule_kind, [&](std::size_t, sj::value& v, int lvl) {
      ++out.schedule_count;
      if (out.schedule.size() >= limits_.schedule_kept) return skip_value(v, lvl);
      RawScheduleEntry& entry = out.schedule.emplace_back();
      return read_object_or_value(v, lvl, entry.kind, [&](std::string_view key, sj::value& field, int l) {
        if (key == "due_date") return read_value(field, l, entry.due_date);
        if (key == "amount") return read_value(field, l, entry.amount);
        return skip_value(field, l);
      });
    });
  }

  bool read_recommend(sj::value& value, int level, RawRecommend& out) {
    return read_object_or_value(value, level, out.kind, [&](std::string_view key, sj::value& v, int lvl) {
      if (key == "rule") return read_value(v, lvl, out.rule);
      if (key == "count") return read_value(v, lvl, out.count);
      if (key == "amount") return read_value(v, lvl, out.amount);
      if (key == "frequency") return read_value(v, lvl, out.frequency);
      if (key == "first_due_date") return read_value(v, lvl, out.first_due_date);
      return skip_value(v, lvl);
    });
  }

  // ---- the generic strict walk ----

  template <class OnField>
  bool read_object_or_value(sj::value& value, int parent_level, Kind& kind, OnField&& on_field) {
    sj::json_type type{};
    if (auto e = value.type().get(type)) return fail_token(e, value);
    if (type != sj::json_type::object) {
      Scalar scalar;
      if (!read_value(value, parent_level, scalar)) return false;
      kind = scalar.kind;
      return true;
    }
    kind = Kind::object;
    const int level = parent_level + 1;
    if (level > kMaxJsonDepth) return fail_depth(value);
    sj::object object;
    if (auto e = value.get_object().get(object)) return fail_structure(e);
    return read_object(object, level, on_field);
  }

  template <class OnElement>
  bool read_array_or_value(sj::value& value, int parent_level, Kind& kind, OnElement&& on_element) {
    sj::json_type type{};
    if (auto e = value.type().get(type)) return fail_token(e, value);
    if (type != sj::json_type::array) {
      Scalar scalar;
      if (!read_value(value, parent_level, scalar)) return false;
      kind = scalar.kind;
      return true;
    }
    kind = Kind::array;
    const int level = parent_level + 1;
    if (level > kMaxJsonDepth) return fail_depth(value);
    sj::array array;
    if (auto e = value.get_array().get(array)) return fail_structure(e);
    return read_array(array, level, on_element);
  }

  bool skip_value(sj::value& value, int parent_level) {
    Scalar ignored;
    return read_value(value, parent_level, ignored);
  }

  // Validates one value completely (containers recursively) and captures scalars.
  bool read_value(sj::value& value, int parent_level, Scalar& out) {
    sj::json_type type{};
    if (auto e = value.type().get(type)) return fail_token(e, value);
    out.kind = kind_of(type);
    switch (type) {
      case sj::json_type::object: {
        Kind kind{};
        return read_object_or_value(value, parent_level, kind,
                                    [&](std::string_view, sj::value& v, int lvl) { return skip_value(v, lvl); });
      }
      case sj::json_type::array: {
        Kind kind{};
        return read_array_or_value(value, parent_level, kind,
                                   [&](std::size_t, sj::value& v, int lvl) { return skip_value(v, lvl); });
      }
      case sj::json_type::string: {
        const char* at = value.raw_json_token().data();
        if (auto e = value.get_string().get(out.text)) return fail(json_error_text(e), at);
        return check_no_surrogate(out.text, at);
      }
      case sj::json_type::number: {
        const std::string_view token = trim_token(value.raw_json_token());
        sj::number number;
        if (value.get_number().get(number)) return fail_number(token);
        out.text = token;
        return true;
      }
      case sj::json_type::boolean: {
        const std::string_view token = trim_token(value.raw_json_token());
        if (value.get_bool().get(out.boolean)) return fail_literal(token);
        return true;
      }
      case sj::json_type::null: {
        const std::string_view token = trim_token(value.raw_json_token());
        bool is_null = false;
        if (value.is_null().get(is_null) || !is_null) return fail_literal(token);
        return true;
      }
    }
    return fail("unknown value type", nullptr);
  }

  template <class OnField>
  bool read_object(sj::object& object, int level, OnField&& on_field) {
    const std::size_t first_key = keys_.size();
    for (auto field_result : object) {
      sj::field field;
      if (auto e = std::move(field_result).get(field)) return fail_structure(e);
      const char* key_at = field.key().raw() - 1;  // the opening quote
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return fail(json_error_text(e), key_at);
      if (!check_no_surrogate(key, key_at)) return false;
      keys_.push_back(Key{key, key_at});
      if (!on_field(key, field.value(), level)) return false;
    }
    const bool unique = check_unique_keys(first_key);
    keys_.resize(first_key);
    return unique;
  }

  template <class OnElement>
  bool read_array(sj::array& array, int level, OnElement&& on_element) {
    std::size_t index = 0;
    for (auto element_result : array) {
      sj::value element;
      if (auto e = std::move(element_result).get(element)) return fail_structure(e);
      if (!on_element(index++, element, level)) return false;
    }
    return true;
  }

  bool read_root_scalar_or_array(sj::document& doc, sj::json_type type) {
    switch (type) {
      case sj::json_type::array: {
        sj::array array;
        if (auto e = doc.get_array().get(array)) return fail_structure(e);
        return read_array(array, 1, [&](std::size_t, sj::value& v, int lvl) { return skip_value(v, lvl); });
      }
      case sj::json_type::string: {
        std::string_view text;
        if (auto e = doc.get_string().get(text)) return fail_structure(e);
        return check_no_surrogate(text, nullptr);
      }
      case sj::json_type::number: {
        sj::number number;
        if (auto e = doc.get_number().get(number)) return fail_structure(e);
        return true;
      }
      case sj::json_type::boolean: {
        bool value = false;
        if (auto e = doc.get_bool().get(value)) return fail_structure(e);
        return true;
      }
      case sj::json_type::null: {
        bool is_null = false;
        if (auto e = doc.is_null().get(is_null)) return fail_structure(e);
        return is_null || fail("invalid literal", nullptr);
      }
      case sj::json_type::object:
        break;
    }
    return fail("unexpected top-level value", nullptr);
  }

  // contract 6: only JSON whitespace may follow the top-level value.
  bool at_document_end() {
    const char* location = nullptr;
    if (doc_->current_location().get(location) == simdjson::OUT_OF_BOUNDS) return true;
    return fail("content after the top-level value", location);
  }

  // contract 6: a key repeated in any object, compared after unescaping.
  bool check_unique_keys(std::size_t first_key) {
    const std::size_t count = keys_.size() - first_key;
    if (count < 2) return true;
    const Key* duplicate = nullptr;
    if (count <= kPairwiseKeyCheckMax) {
      for (std::size_t i = first_key + 1; i < keys_.size() && !duplicate; ++i)
        for (std::size_t j = first_key; j < i; ++j)
          if (keys_[i].text == keys_[j].text) {
            duplicate = &keys_[i];
            break;
          }
    } else {
      sorted_keys_.assign(keys_.begin() + static_cast<std::ptrdiff_t>(first_key), keys_.end());
      std::sort(sorted_keys_.begin(), sorted_keys_.end(),
                [](const Key& a, const Key& b) { return a.text != b.text ? a.text < b.text : a.at < b.at; });
      for (std::size_t i = 1; i < sorted_keys_.size(); ++i)
        if (sorted_keys_[i].text == sorted_keys_[i - 1].text) {
          duplicate = &sorted_keys_[i];
          break;
        }
    }
    if (!duplicate) return true;
    return fail(fmt::format("duplicate key \"{}\"", codec_text::cut_on_utf8_boundary(duplicate->text, 64)),
                duplicate->at);
  }

  // contract 6: a \u escape forming a lone surrogate. simdjson 3.0.1 already refuses
  // them; this guards against a library that would write one as CESU-8 (ED A0..BF xx).
  bool check_no_surrogate(std::string_view text, const char* at) {
    if (std::memchr(text.data(), 0xED, text.size()) == nullptr) return true;
    if (simdjson::validate_utf8(text.data(), text.size())) return true;
    return fail("a \\u escape forms a lone surrogate", at);
  }

  static std::string_view trim_token(std::string_view token) {
    while (!token.empty() &&
           (token.back() == ' ' || token.back() == '\t' || token.back() == '\r' || token.back() == '\n'))
      token.remove_suffix(1);
    return token;
  }

  // RFC 8259 number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  static bool is_number_syntax(std::string_view t) {
    std::size_t i = 0;
    auto digits = [&] {
      const std::size_t start = i;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
      return i > start;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i < t.size() && t[i] == '0') {
      ++i;
    } else if (!digits()) {
      return false;
    }
    if (i < t.size() && t[i] == '.') {
      ++i;
      if (!digits()) return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
      ++i;
      if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
      if (!digits()) return false;
    }
    return i == t.size();
  }

  static bool is_nan_or_infinity(std::string_view token) {
    if (!token.empty() && (token.front() == '-' || token.front() == '+')) token.remove_prefix(1);
    return token.starts_with("NaN") || token.starts_with("nan") || token.starts_with("Infinity") ||
           token.starts_with("inf") || token.starts_with("Inf");
  }

  // ---- failures: build the one-line reason (error path only) ----

  bool fail(std::string_view what, const char* at) {
    if (at != nullptr && at >= buffer_start_) {
      error_ = fmt::format("invalid JSON: {} at column {}", what, at - buffer_start_ + 1);
    } else {
      error_ = fmt::format("invalid JSON: {}", what);
    }
    return false;
  }

  // The iterator's location is not meaningful before the root value is entered.
  RootShape fail_root(simdjson::error_code e) {
    fail(json_error_text(e), nullptr);
    return RootShape::malformed;
  }

  bool fail_structure(simdjson::error_code e) {
    const char* location = nullptr;
    if (doc_->current_location().get(location) != simdjson::SUCCESS) location = nullptr;
    return fail(json_error_text(e), location);
  }

  bool fail_depth(sj::value& value) {
    return fail(fmt::format("nesting deeper than {} levels", kMaxJsonDepth), value.raw_json_token().data());
  }

  bool fail_token(simdjson::error_code e, sj::value& value) {
    const std::string_view raw = value.raw_json_token();
    const std::string_view token = trim_token(raw);
    if (is_nan_or_infinity(token)) return fail("NaN and Infinity are not JSON numbers", raw.data());
    if (token.empty()) return fail(json_error_text(e), raw.data());
    return fail(fmt::format("unexpected \"{}\"", codec_text::cut_on_utf8_boundary(token, 20)), raw.data());
  }

  bool fail_number(std::string_view token) {
    const std::string_view shown = codec_text::cut_on_utf8_boundary(token, 40);
    if (is_nan_or_infinity(token)) return fail("NaN and Infinity are not JSON numbers", token.data());
    if (is_number_syntax(token))
      return fail(fmt::format("number {} is out of range (a double, or an integer from -2^63 to 2^64-1)", shown),
                  token.data());
    return fail(fmt::format("invalid number \"{}\"", shown), token.data());
  }

  bool fail_literal(std::string_view token) {
    return fail(fmt::format("invalid literal \"{}\"", codec_text::cut_on_utf8_boundary(token, 20)), token.data());
  }

  sj::document* doc_ = nullptr;
  const char* buffer_start_ = nullptr;
  Limits limits_;
  std::vector<Key> keys_;         // keys of the open objects, innermost last
  std::vector<Key> sorted_keys_;  // scratch for large objects
  std::string error_;
};

}  // namespace paydist::codec_raw
