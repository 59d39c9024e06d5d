// bench/gen_events.cpp: writes N lines of valid, realistic `paydist replay` input (contract
// 2): obligations assessed, payments over many accounts, arrangements and their activation,
// some adjustments, a few bank returns, and a business_date every ~10k lines. Deterministic
// for a seed. Standard library and fmt only: it must not share code with what it measures.
//   paydist_gen_events --lines 1000000 --seed 7 --out events.jsonl
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace {

struct Options {
  std::uint64_t lines = 1'000'000;
  std::uint64_t seed = 1;
  std::uint64_t accounts = 0;  // 0: lines / 10, at least 1000
  std::uint64_t lines_per_day = 10'000;
  std::string out = "-";
};

struct Payment {
  std::uint64_t id = 0;
  bool returned = false;
};

struct Account {
  std::vector<std::uint64_t> obligations;
  std::vector<Payment> payments;
  std::uint64_t arrangement = 0;  // 0: none
};

// Bounds that keep each account's history realistic and its record small.
constexpr std::size_t kObligationsPerAccountMax = 4;
constexpr std::size_t kPaymentsPerAccountMax = 64;

std::string date_text(std::int32_t serial) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{serial}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::string money_text(std::int64_t cents) { return fmt::format("{}.{:02}", cents / 100, cents % 100); }

class Generator {
 public:
  explicit Generator(const Options& options)
      : options_(options),
        rng_(options.seed),
        accounts_(options.accounts != 0 ? options.accounts : std::max<std::uint64_t>(1000, options.lines / 10)),
        today_(static_cast<std::int32_t>(
            std::chrono::sys_days{std::chrono::year{2026} / std::chrono::January / 1}.time_since_epoch().count())) {}

  void write(std::FILE* out) {
    fmt::memory_buffer buffer;
    while (written_ < options_.lines) {
      next_lines(buffer);
      if (buffer.size() > (1u << 20)) flush(buffer, out);
    }
    flush(buffer, out);
  }

 private:
  std::uint64_t uniform(std::uint64_t low, std::uint64_t high) {  // inclusive
    return std::uniform_int_distribution<std::uint64_t>{low, high}(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution{p}(rng_); }
  std::string account_id(std::uint64_t index) const { return fmt::format("ACC{:08}", index); }

  void line(fmt::memory_buffer& buffer, std::string_view text) {
    if (written_ >= options_.lines) return;
    buffer.append(text);
    buffer.push_back('\n');
    ++written_;
  }

  static void flush(fmt::memory_buffer& buffer, std::FILE* out) {
    if (std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
      std::perror("paydist_gen_events: write");
      std::exit(1);
    }
    buffer.clear();
  }

  void next_lines(fmt::memory_buffer& buffer) {
    if (written_ % options_.lines_per_day == 0) {
      if (written_ != 0) ++today_;
      line(buffer, fmt::format(R"({{"type":"business_date","event_id":"BD{}","date":"{}"}})", today_, date_text(today_)));
      return;
    }
    // New accounts keep arriving until every account exists; then existing ones get busier.
    const bool new_account = next_account_ < accounts_.size() && (next_account_ < 100 || chance(0.12));
    if (new_account) return assess(buffer, next_account_++);
    const std::uint64_t index = uniform(0, next_account_ - 1);
    Account& account = accounts_[index];
    const std::uint64_t roll = uniform(0, 999);
    if (roll < 40 && account.obligations.size() < kObligationsPerAccountMax) return assess(buffer, index);
    if (roll < 110 && !account.obligations.empty()) return adjust(buffer, index);
    if (roll < 150 && !account.obligations.empty() && account.arrangement == 0) return arrange(buffer, index);
    if (roll < 170 && !account.payments.empty()) return payment_returned(buffer, index);
    if (roll < 175) return unmatched_payment(buffer);
    return payment(buffer, index);
  }

  void assess(fmt::memory_buffer& buffer, std::uint64_t index) {
    const std::uint64_t obligation = ++obligations_;
    accounts_[index].obligations.push_back(obligation);
    const auto due = static_cast<std::int32_t>(today_ + static_cast<std::int32_t>(uniform(0, 90)) - 30);
    line(buffer, fmt::format(R"({{"type":"obligation_assessed","event_id":"E{}","account_id":"{}","obligation_id":"OBL{}",)"
                             R"("due_date":"{}","amounts":{{"tax":"{}","penalty":"{}","interest":"{}"}},)"
                             R"("tax_type":"income","period":"2025"}})",
                             ++events_, account_id(index), obligation, date_text(due), money_text(uniform(10'000, 900'000)),
                             money_text(uniform(0, 50'000)), money_text(uniform(0, 20'000))));
  }

  // Interest and penalty accrue: positive deltas never take a component below zero.
  void adjust(fmt::memory_buffer& buffer, std::uint64_t index) {
    const Account& account = accounts_[index];
    const std::uint64_t obligation = account.obligations[uniform(0, account.obligations.size() - 1)];
    line(buffer, fmt::format(R"({{"type":"obligation_adjusted","event_id":"E{}","account_id":"{}","obligation_id":"OBL{}",)"
                             R"("amounts":{{"interest":"{}","penalty":"{}"}},"reason":"accrual"}})",
                             ++events_, account_id(index), obligation, money_text(uniform(1, 5'000)),
                             money_text(uniform(0, 2'000))));
  }

  // A cash or direct-debit plan over all of the account's obligations, activated at once.
  void arrange(fmt::memory_buffer& buffer, std::uint64_t index) {
    Account& account = accounts_[index];
    account.arrangement = ++arrangements_;
    std::string covered;
    for (std::uint64_t obligation : account.obligations)
      covered += fmt::format("{}\"OBL{}\"", covered.empty() ? "" : ",", obligation);
    std::string schedule;
    const std::uint64_t count = uniform(3, 12);
    const std::int64_t amount = static_cast<std::int64_t>(uniform(5'000, 60'000));
    for (std::uint64_t i = 0; i < count; ++i)
      schedule += fmt::format(R"({}{{"due_date":"{}","amount":"{}"}})", i == 0 ? "" : ",",
                              date_text(today_ + 14 + static_cast<std::int32_t>(i) * 28), money_text(amount));
    line(buffer, fmt::format(R"({{"type":"arrangement_created","event_id":"E{}","account_id":"{}","arrangement_id":"ARR{}",)"
                             R"("kind":"{}","covered_obligations":[{}],"schedule":[{}]}})",
                             ++events_, account_id(index), account.arrangement, chance(0.3) ? "direct_debit" : "cash",
                             covered, schedule));
    line(buffer, fmt::format(R"({{"type":"arrangement_activated","event_id":"E{}","account_id":"{}","arrangement_id":"ARR{}"}})",
                             ++events_, account_id(index), account.arrangement));
  }

  void payment(fmt::memory_buffer& buffer, std::uint64_t index) {
    static constexpr const char* kMethods[] = {"bpay", "card", "eft", "direct_debit", "cash", "cheque", "other"};
    Account& account = accounts_[index];
    const std::uint64_t payment = ++payments_;
    if (account.payments.size() < kPaymentsPerAccountMax) account.payments.push_back({payment, false});
    std::string extra;
    if (account.arrangement != 0 && chance(0.5)) extra = fmt::format(R"(,"arrangement_id":"ARR{}")", account.arrangement);
    line(buffer, fmt::format(R"({{"type":"payment","event_id":"E{}","account_id":"{}","payment_id":"PAY{}","amount":"{}",)"
                             R"("received_date":"{}","method":"{}"{}}})",
                             ++events_, account_id(index), payment, money_text(uniform(1'000, 150'000)),
                             date_text(today_), kMethods[uniform(0, 6)], extra));
  }

  // A payment for an account that was never assessed: kept as credit (UNMATCHED_PAYMENT).
  void unmatched_payment(fmt::memory_buffer& buffer) {
    line(buffer, fmt::format(R"({{"type":"payment","event_id":"E{}","account_id":"UNK{}","payment_id":"PAY{}","amount":"{}",)"
                             R"("received_date":"{}","method":"eft"}})",
                             ++events_, uniform(0, 999'999), ++payments_, money_text(uniform(1'000, 50'000)),
                             date_text(today_)));
  }

  void payment_returned(fmt::memory_buffer& buffer, std::uint64_t index) {
    static constexpr const char* kReasons[] = {"R01", "AM04", "MD06", "2", "AC04"};
    Account& account = accounts_[index];
    Payment& returned = account.payments[uniform(0, account.payments.size() - 1)];
    if (returned.returned) return payment(buffer, index);
    returned.returned = true;
    line(buffer, fmt::format(R"({{"type":"payment_returned","event_id":"E{}","account_id":"{}","payment_id":"PAY{}",)"
                             R"("return_date":"{}","reason_code":"{}"}})",
                             ++events_, account_id(index), returned.id, date_text(today_), kReasons[uniform(0, 4)]));
  }

  Options options_;
  std::mt19937_64 rng_;
  std::vector<Account> accounts_;
  std::uint64_t next_account_ = 0;
  std::int32_t today_;
  std::uint64_t written_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t obligations_ = 0;
  std::uint64_t arrangements_ = 0;
  std::uint64_t payments_ = 0;
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "paydist_gen_events: %s\n"
               "usage: paydist_gen_events [--lines N] [--seed S] [--accounts A] [--lines-per-day D] [--out FILE]\n",
               problem);
  std::exit(2);
}

std::uint64_t number(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage("expected a number");
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help") usage("writes realistic JSONL input for paydist replay");
    if (i + 1 >= argc) usage("missing value");
    const char* value = argv[++i];
    if (arg == "--lines") options.lines = number(value);
    else if (arg == "--seed") options.seed = number(value);
    else if (arg == "--accounts") options.accounts = number(value);
    else if (arg == "--lines-per-day") options.lines_per_day = number(value);
    else if (arg == "--out") options.out = value;
    else usage("unknown option");
  }
  if (options.lines_per_day == 0) usage("--lines-per-day must be at least 1");
  std::FILE* out = options.out == "-" ? stdout : std::fopen(options.out.c_str(), "wb");
  if (out == nullptr) {
    std::perror(options.out.c_str());
    return 1;
  }
  Generator{options}.write(out);
  if (std::fflush(out) != 0 || (out != stdout && std::fclose(out) != 0)) {
    std::perror("paydist_gen_events: write");
    return 1;
  }
  return 0;
}
