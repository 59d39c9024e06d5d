// config/config.cpp: reads the TOML configuration (toml++) and validates every key.
// toml++ throws: its exceptions are caught here and never leave this file. A typo is an
// error, never a silent default (docs/decisions.md, "Configuration: unknown keys").
#include "config/config.h"

#include <array>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/money.h"

namespace paydist {
namespace {

constexpr std::string_view kRulesTable = "rules";
constexpr std::string_view kHistoryTable = "history";
constexpr std::string_view kStateTable = "state";
constexpr std::string_view kKafkaTable = "kafka";
constexpr std::string_view kHttpTable = "http";
constexpr std::string_view kBusinessDateTable = "business_date";
// Bounds on the text keys: a path, a host:port, a topic name, a librdkafka property.
constexpr std::size_t kTextKeyBytesMax = 4096;
// Longest piece of user text quoted back in an error message.
constexpr std::size_t kQuotedCharsMax = 64;

// User text made safe for a one-line message: control characters escaped, long text cut.
std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kQuotedCharsMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kQuotedCharsMax) out += "...";
  return out;
}

// What the user wrote, for "got ...": strings quoted, scalars as written, containers named.
std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return fmt::format("\"{}\"", printable(*node.value<std::string_view>()));
    case toml::node_type::integer:
      return std::to_string(*node.value<std::int64_t>());
    case toml::node_type::boolean:
      return *node.value<bool>() ? "true" : "false";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default: {  // floats, dates and times: as toml++ prints them
      std::ostringstream text;
      node.visit([&](const auto& value) {
        if constexpr (toml::is_value<decltype(value)>) text << value;
      });
      return printable(text.str());
    }
  }
}

std::string joined(const std::vector<std::string_view>& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

// One key of a table: what it must hold (for the message) and how it lands in the struct
// the table fills. apply returns false when the value is the wrong type or out of range.
template <class Target>
struct Key {
  std::string_view name;
  std::string expected;
  std::function<bool(const toml::node&, Target&)> apply;
};
using RuleKey = Key<Rules>;

template <class Target, class Field>
Key<Target> integer_key(std::string_view name, Field Target::*field, std::int64_t min, std::int64_t max) {
  return Key<Target>{name, fmt::format("an integer from {} to {}", min, max),
                     [field, min, max](const toml::node& node, Target& target) {
                       const auto* integer = node.as_integer();
                       if (integer == nullptr) return false;
                       const std::int64_t value = integer->get();
                       if (value < min || value > max) return false;
                       target.*field = static_cast<Field>(value);
                       return true;
                     }};
}

bool apply_currency(const toml::node& node, Rules& rules) {
  const auto* text = node.as_string();
  if (text == nullptr) return false;
  const std::string& code = text->get();
  if (code.size() != 3) return false;
  for (char c : code)
    if (c < 'A' || c > 'Z') return false;
  rules.currency = code;
  return true;
}

bool apply_threshold(const toml::node& node, Rules& rules) {
  const auto* text = node.as_string();
  if (text == nullptr) return false;  // a TOML number would invite floating point: refused
  Result<Money> amount = Money::parse(text->get(), Sign::unsigned_only);
  if (!amount) return false;
  rules.no_arrangement_threshold = *amount;
  return true;
}

// contract 6, "Configuration keys": the keys and their bounds.
const std::vector<RuleKey>& rule_keys() {
  static const std::vector<RuleKey> keys = {
      {"currency", "3 upper-case letters, like \"AUD\"", apply_currency},
      integer_key("cash_grace_days", &Rules::cash_grace_days, 0, 3650),
      integer_key("dd_return_grace_days", &Rules::dd_return_grace_days, 0, 3650),
      integer_key("review_notice_days", &Rules::review_notice_days, 0, 3650),
      {"no_arrangement_threshold", "a money string of 0.00 or more, like \"1500.00\"", apply_threshold},
      integer_key("max_instalments", &Rules::max_instalments, 1, 100'000),
      integer_key("max_message_bytes", &Rules::max_message_bytes, 1024, 64 << 20),
      integer_key("max_obligations_per_account", &Rules::max_obligations_per_account, 1, 1'000'000),
      integer_key("max_arrangements_per_account", &Rules::max_arrangements_per_account, 1, 1'000'000),
      // Payment parts index an account's payments with 32 bits (core/account.h): far above.
      integer_key("max_payments_per_account", &Rules::max_payments_per_account, 1, 10'000'000),
      integer_key("max_pending_reviews_per_account", &Rules::max_pending_reviews_per_account, 1, 1'000'000),
  };
  return keys;
}

// [history]: the audit trail behind `paydist explain`.
const std::vector<Key<HistoryConfig>>& history_keys() {
  static const std::vector<Key<HistoryConfig>> keys = {
      integer_key("entries_per_account", &HistoryConfig::entries_per_account, 0, 100'000),
  };
  return keys;
}

template <class Target>
Status read_table(const toml::table& table, std::string_view source, std::string_view table_name,
                  const std::vector<Key<Target>>& keys, Target& target);

template <class Target>
Key<Target> text_key(std::string_view name, std::string Target::*field) {
  return Key<Target>{name, "a non-empty string", [field](const toml::node& node, Target& target) {
                       const auto* text = node.as_string();
                       if (text == nullptr || text->get().empty() || text->get().size() > kTextKeyBytesMax) return false;
                       target.*field = text->get();
                       return true;
                     }};
}

template <class Target>
Key<Target> boolean_key(std::string_view name, bool Target::*field) {
  return Key<Target>{name, "true or false", [field](const toml::node& node, Target& target) {
                       const auto* boolean = node.as_boolean();
                       if (boolean == nullptr) return false;
                       target.*field = boolean->get();
                       return true;
                     }};
}

// A Kafka topic name: 1 to 249 of [a-zA-Z0-9._-] (Kafka's own rule).
bool is_topic_name(const toml::node& node) {
  const auto* text = node.as_string();
  if (text == nullptr) return false;
  const std::string& topic = text->get();
  if (topic.empty() || topic.size() > 249) return false;
  for (char c : topic)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}
constexpr std::string_view kTopicExpected = "a topic name (1 to 249 of a-z A-Z 0-9 . _ -)";

template <class Target>
Key<Target> topic_key(std::string_view name, std::string Target::*field) {
  return Key<Target>{name, std::string{kTopicExpected}, [field](const toml::node& node, Target& target) {
                       if (!is_topic_name(node)) return false;
                       target.*field = *node.value<std::string>();
                       return true;
                     }};
}

// An array of topic names, each at most once.
template <class Target>
Key<Target> topic_list_key(std::string_view name, std::vector<std::string> Target::*field) {
  return Key<Target>{name, fmt::format("an array of distinct topic names ({})", kTopicExpected),
                     [field](const toml::node& node, Target& target) {
                       const auto* array = node.as_array();
                       if (array == nullptr) return false;
                       std::vector<std::string> topics;
                       for (const toml::node& element : *array) {
                         if (!is_topic_name(element)) return false;
                         std::string topic = *element.value<std::string>();
                         if (std::find(topics.begin(), topics.end(), topic) != topics.end()) return false;
                         topics.push_back(std::move(topic));
                       }
                       target.*field = std::move(topics);
                       return true;
                     }};
}

const std::vector<Key<StateConfig>>& state_keys() {
  static const std::vector<Key<StateConfig>> keys = {
      text_key("dir", &StateConfig::dir),
      integer_key("initial_map_mb", &StateConfig::initial_map_mb, 1, 1 << 20),
  };
  return keys;
}

bool apply_source(const toml::node& node, BusinessDateConfig& target) {
  const auto* text = node.as_string();
  if (text == nullptr) return false;
  if (text->get() == "messages")
    target.source = BusinessDateConfig::Source::messages;
  else if (text->get() == "clock")
    target.source = BusinessDateConfig::Source::clock;
  else
    return false;
  return true;
}

// An IANA zone name as a relative path under the zoneinfo directory: no "..", no leading '/'.
bool apply_time_zone(const toml::node& node, BusinessDateConfig& target) {
  const auto* text = node.as_string();
  if (text == nullptr) return false;
  const std::string& zone = text->get();
  if (zone.empty() || zone.size() > 64 || zone.front() == '/' || zone.find("..") != std::string::npos) return false;
  for (char c : zone)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '+' || c == '-')) return false;
  target.time_zone = zone;
  return true;
}

const std::vector<Key<BusinessDateConfig>>& business_date_keys() {
  static const std::vector<Key<BusinessDateConfig>> keys = {
      {"source", "\"messages\" or \"clock\"", apply_source},
      {"time_zone", "an IANA time zone name, like \"Australia/Sydney\"", apply_time_zone},
  };
  return keys;
}

const std::vector<Key<HttpConfig>>& http_keys() {
  static const std::vector<Key<HttpConfig>> keys = {text_key("listen", &HttpConfig::listen)};
  return keys;
}

// [kafka] itself; its sub-tables [kafka.topics] and [kafka.client] are read apart.
const std::vector<Key<KafkaConfig>>& kafka_keys() {
  static const std::vector<Key<KafkaConfig>> keys = {
      text_key("brokers", &KafkaConfig::brokers),
      integer_key("embedded_partitions", &KafkaConfig::embedded_partitions, 1, 1024),
      text_key("group_id", &KafkaConfig::group_id),
      integer_key("batch_messages_max", &KafkaConfig::batch_messages_max, 1, 10'000'000),
      integer_key("batch_interval_ms", &KafkaConfig::batch_interval_ms, 1, 60'000),
      integer_key("outbox_messages_max", &KafkaConfig::outbox_messages_max, 1, 100'000'000),
      integer_key("merge_wait_ms", &KafkaConfig::merge_wait_ms, 0, 600'000),
      boolean_key("changelog", &KafkaConfig::changelog),
      integer_key("standby_replicas", &KafkaConfig::standby_replicas, 0, 16),
  };
  return keys;
}

const std::vector<Key<KafkaConfig>>& kafka_topic_keys() {
  static const std::vector<Key<KafkaConfig>> keys = {
      topic_key("events", &KafkaConfig::events_topic),
      topic_key("activities", &KafkaConfig::activities_topic),
      topic_key("distributions", &KafkaConfig::distributions_topic),
      topic_key("rejects", &KafkaConfig::rejects_topic),
      topic_key("changelog", &KafkaConfig::changelog_topic),
      topic_list_key("extra_inputs", &KafkaConfig::extra_input_topics),
  };
  return keys;
}

// [kafka.client]: any librdkafka property, as a string, integer or boolean (librdkafka
// itself checks the name and value when the daemon starts).
Status read_kafka_client(const toml::table& table, std::string_view source, KafkaConfig& kafka) {
  for (const auto& [name, node] : table) {
    std::string value;
    if (const auto* text = node.as_string())
      value = text->get();
    else if (const auto* integer = node.as_integer())
      value = std::to_string(integer->get());
    else if (const auto* boolean = node.as_boolean())
      value = boolean->get() ? "true" : "false";
    else
      return Error{fmt::format("{}: kafka.client.{}: expected a string, integer or boolean, got {}", source,
                               printable(name.str()), describe(node))};
    if (value.size() > kTextKeyBytesMax)
      return Error{fmt::format("{}: kafka.client.{}: longer than {} bytes", source, printable(name.str()), kTextKeyBytesMax)};
    kafka.client.emplace_back(std::string{name.str()}, std::move(value));
  }
  return Ok{};
}

Status read_kafka(const toml::table& table, std::string_view source, KafkaConfig& kafka) {
  toml::table plain;
  for (const auto& [name, node] : table) {
    if (name.str() == "topics" || name.str() == "client") {
      if (!node.is_table())
        return Error{fmt::format("{}: kafka.{}: expected a table, got {}", source, name.str(), describe(node))};
      Status s = name.str() == "topics"
                     ? read_table(*node.as_table(), source, "kafka.topics", kafka_topic_keys(), kafka)
                     : read_kafka_client(*node.as_table(), source, kafka);
      if (!s) return s;
      continue;
    }
    plain.insert(name, node);
  }
  if (Status s = read_table(plain, source, kKafkaTable, kafka_keys(), kafka); !s) return s;
  // Every topic has one role: an input topic that is also an output would feed paydistd its
  // own outputs.
  std::vector<std::pair<std::string_view, const std::string*>> roles = {
      {"events", &kafka.events_topic},
      {"activities", &kafka.activities_topic},
      {"distributions", &kafka.distributions_topic},
      {"rejects", &kafka.rejects_topic},
      {"changelog", &kafka.changelog_topic}};
  for (const std::string& extra : kafka.extra_input_topics) roles.emplace_back("extra_inputs", &extra);
  for (std::size_t i = 0; i < roles.size(); ++i)
    for (std::size_t j = i + 1; j < roles.size(); ++j)
      if (*roles[i].second == *roles[j].second)
        return Error{fmt::format("{}: kafka.topics.{}: \"{}\" is also kafka.topics.{}; every topic has one role",
                                 source, roles[j].first, printable(*roles[j].second), roles[i].first)};
  return Ok{};
}

template <class Target>
Status read_table(const toml::table& table, std::string_view source, std::string_view table_name,
                  const std::vector<Key<Target>>& keys, Target& target) {
  for (const auto& [name, node] : table) {
    const Key<Target>* key = nullptr;
    for (const Key<Target>& k : keys)
      if (k.name == name.str()) key = &k;
    if (key == nullptr) {
      std::vector<std::string_view> known;
      for (const Key<Target>& k : keys) known.push_back(k.name);
      return Error{fmt::format("{}: {}.{}: unknown key (known keys: {})", source, table_name,
                               printable(name.str()), joined(known))};
    }
    if (!key->apply(node, target))
      return Error{fmt::format("{}: {}.{}: expected {}, got {}", source, table_name, key->name,
                               key->expected, describe(node))};
  }
  return Ok{};
}

Result<Config> read_config(const toml::table& root, std::string_view source) {
  Config config;
  for (const auto& [key, node] : root) {
    const std::string_view name = key.str();
    const bool known = name == kRulesTable || name == kHistoryTable || name == kStateTable || name == kKafkaTable ||
                       name == kHttpTable || name == kBusinessDateTable;
    if (!known) {
      const std::vector<std::string_view> tables = {kRulesTable, kHistoryTable, kStateTable,
                                                    kKafkaTable, kHttpTable,    kBusinessDateTable};
      return Error{fmt::format("{}: {}: unknown top-level {} (known tables: {})", source,
                               printable(name), node.is_table() ? "table" : "key", joined(tables))};
    }
    if (!node.is_table())
      return Error{fmt::format("{}: {}: expected a table, got {}", source, name, describe(node))};
    Status read = Ok{};
    if (name == kRulesTable) read = read_table(*node.as_table(), source, kRulesTable, rule_keys(), config.rules);
    if (name == kHistoryTable)
      read = read_table(*node.as_table(), source, kHistoryTable, history_keys(), config.history);
    if (name == kStateTable) read = read_table(*node.as_table(), source, kStateTable, state_keys(), config.state);
    if (name == kKafkaTable) read = read_kafka(*node.as_table(), source, config.kafka);
    if (name == kHttpTable) read = read_table(*node.as_table(), source, kHttpTable, http_keys(), config.http);
    if (name == kBusinessDateTable)
      read = read_table(*node.as_table(), source, kBusinessDateTable, business_date_keys(), config.business_date);
    if (!read) return Error{read.error()};
  }
  return config;
}

// toml++ descriptions may span lines; our errors never do.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return out;
}

// toml++ 3.3.0 (Debian 12) reaches __builtin_unreachable(), undefined behaviour, when it
// asks whether some non-ASCII characters are whitespace: in a key or table header, after a
// value, or right after a backslash in a multi-line basic string (upstream issues
// marzer/tomlplusplus#190 and #295; found by tests/fuzz/config_fuzz.cpp). TOML 1.0 allows
// non-ASCII only inside strings and comments, so a file with it anywhere else is invalid
// anyway: it is refused here, with its line, before toml++ sees it. The one valid form
// refused is a non-ASCII character after a backslash (or after a line-ending backslash and
// the whitespace that follows it) in a """ string: never one of our keys' values.
class NonAsciiGuard {
 public:
  explicit NonAsciiGuard(std::string_view text) : text_(text) {}

  // The 1-based line of the first non-ASCII byte toml++ must not see, or 0 when none.
  std::size_t first_unsafe_line() {
    for (i_ = 0; i_ < text_.size(); ++i_) {
      const char c = text_[i_];
      if (c == '\n') {
        ++line_;
        if (state_ != In::multi_line_basic && state_ != In::multi_line_literal) {
          state_ = In::code;
          bare_ = false;
          if (value_depth_ == 0) in_value_ = false;  // a multi-line array goes on
        }
        continue;
      }
      if (!step(c)) return line_;
    }
    return 0;
  }

 private:
  enum class In : std::uint8_t { code, comment, basic, literal, multi_line_basic, multi_line_literal };

  bool at(std::string_view token) const { return text_.substr(i_).starts_with(token); }
  static bool ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }

  void open_string(char quote) {
    if (at(quote == '"' ? R"(""")" : "'''")) {
      i_ += 2;
      state_ = quote == '"' ? In::multi_line_basic : In::multi_line_literal;
    } else {
      state_ = quote == '"' ? In::basic : In::literal;
    }
  }

  // After a closing """ or ''', up to two more quotes still belong to the string (TOML 1.0).
  void close_multi_line(char quote) {
    i_ += 2;
    for (int extra = 0; extra < 2 && i_ + 1 < text_.size() && text_[i_ + 1] == quote; ++extra) ++i_;
    state_ = In::code;
  }

  // The escape after the backslash at i_ in a """ string: false when toml++ would classify
  // a non-ASCII character there (the escaped one, or the first after the whitespace).
  bool skip_multi_line_escape() {
    std::size_t j = i_ + 1;
    while (j < text_.size() && (text_[j] == ' ' || text_[j] == '\t' || text_[j] == '\r' || text_[j] == '\n')) {
      if (text_[j] == '\n') ++line_;
      ++j;
    }
    if (j < text_.size() && !ascii(text_[j])) return false;
    i_ = j > i_ + 1 ? j - 1 : j;  // past the whitespace, or past the one escaped character
    return true;
  }

  // Outside strings and comments. A quote opens a string only where a token starts; inside
  // a bare token toml++ reads on past quotes (a bare value runs to whitespace, `]`, `}`, `,`
  // or `#`; a bare key also ends at `.`, `=` and `[`).
  bool step_code(char c) {
    if (!ascii(c)) return false;
    if (c == ' ' || c == '\t' || c == '\r') {
      bare_ = false;
    } else if (c == '#') {
      state_ = In::comment;
    } else if ((c == '"' || c == '\'') && !bare_) {
      open_string(c);
    } else if (in_value_) {
      step_value(c);
    } else if (c == '=') {
      in_value_ = true;
      bare_ = false;
    } else {
      bare_ = !(c == '.' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',');
    }
    return true;
  }

  void step_value(char c) {
    if (bare_ && c != ']' && c != '}' && c != ',') return;  // the bare value goes on
    bare_ = false;
    if (c == '[' || c == '{') {
      ++value_depth_;
    } else if (c == ']' || c == '}') {
      if (value_depth_ > 0) --value_depth_;
    } else if (c != ',' && c != '=') {
      bare_ = true;
    }
  }

  bool step(char c) {
    switch (state_) {
      case In::code:
        return step_code(c);
      case In::comment:
        return true;
      case In::basic:
        if (c == '\\' && i_ + 1 < text_.size() && text_[i_ + 1] != '\n') {
          ++i_;
        } else if (c == '"') {
          state_ = In::code;
        }
        return true;
      case In::literal:
        if (c == '\'') state_ = In::code;
        return true;
      case In::multi_line_basic:
        if (c == '\\') return skip_multi_line_escape();
        if (at(R"(""")")) close_multi_line('"');
        return true;
      case In::multi_line_literal:
        if (at("'''")) close_multi_line('\'');
        return true;
    }
    return true;
  }

  std::string_view text_;
  std::size_t i_ = 0;
  std::size_t line_ = 1;
  In state_ = In::code;
  bool bare_ = false;             // inside a bare key or value
  bool in_value_ = false;         // after a key's `=`, until the value's line ends
  std::size_t value_depth_ = 0;   // arrays and inline tables open in the value
};

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name) {
  if (const std::size_t line = NonAsciiGuard{toml_text}.first_unsafe_line(); line != 0)
    return Error{fmt::format("{}:{}: a non-ASCII character outside a string or comment (or after a backslash in "
                             "a \"\"\" string): not accepted here",
                             source_name, line)};
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    const toml::source_position& where = error.source().begin;
    return Error{fmt::format("{}:{}:{}: TOML syntax error: {}", source_name, where.line, where.column,
                             one_line(error.description()))};
  } catch (const std::exception& error) {
    return Error{fmt::format("{}: cannot parse: {}", source_name, one_line(error.what()))};
  }
  return read_config(root, source_name);
}

Result<Config> load_config(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Error{fmt::format("{}: cannot open: {}", source, std::strerror(errno))};
  std::string text(kConfigFileBytesMax + 1, '\0');
  const std::size_t read = std::fread(text.data(), 1, text.size(), file.get());
  if (std::ferror(file.get())) return Error{fmt::format("{}: cannot read: {}", source, std::strerror(errno))};
  if (read > kConfigFileBytesMax)
    return Error{fmt::format("{}: larger than {} bytes; not a paydist configuration", source, kConfigFileBytesMax)};
  text.resize(read);
  return parse_config(text, source);
}

}  // namespace paydist
