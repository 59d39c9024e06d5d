// daemon/generate.cpp: the `paydist generate` stream: accounts that arrive with debts, agree
// cash, direct-debit and discount arrangements, pay on time, late, partly or not at all, have
// debits returned, skip, reschedule, cancel; payments nobody owes; a share of bad lines.
// Every good line must be accepted by paydist: each account keeps a small model of what the
// engine will hold (balances, instalments and their parts, statuses) so that the stories only
// send what the contract allows. That model mirrors contract 3 and 6 on purpose; the
// generate-replay integration test checks it against the real engine. Never reads a clock:
// one splitmix64 stream per account (and one each for stray payments, bad lines and repeated
// lines), so the bytes depend on the options only. Design notes: docs/decisions.md.
#include "daemon/generate.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace paydist {
namespace {

// ---------------------------------------------------------------------------------------
// Bounds and the rule numbers the stories are planned around (the contract's defaults; a
// replay with other [rules] still accepts every good line, only the activities differ).

constexpr std::size_t kFlushBytes = std::size_t{1} << 21;
constexpr std::size_t kObligationsPerAccountMax = 9;  // O1..O9: id order is number order (step 3)
constexpr std::uint16_t kPlansPerAccountMax = 3;
constexpr std::uint16_t kAdHocPaymentsMax = 4;
constexpr std::uint16_t kAccrualsMax = 3;
constexpr std::int32_t kCashGraceDays = 14;
constexpr std::int32_t kReturnGraceDays = 3;
constexpr std::int32_t kDateTableMarginDays = 1200;  // schedules reach well past the last day
constexpr std::int32_t kNoDay = INT32_MIN;
constexpr std::size_t kTasksReserved = 4;        // a story rarely has more waiting at once
constexpr std::size_t kTasksPerVisitMax = 1000;  // a story that loops on one day is a bug
constexpr std::uint64_t kRedeliveryPerMillion = 500;  // exact repeats of an accepted line (contract 6)
constexpr std::uint64_t kFirstAccountStream = 3;   // random streams 0-2: strays, bad lines, repeats

[[noreturn]] void fail_invariant(const char* what) {
  std::fprintf(stderr, "paydist generate: broken invariant: %s\n", what);
  std::abort();
}
#define GENERATE_INVARIANT(cond) \
  do {                           \
    if (!(cond)) fail_invariant(#cond); \
  } while (0)

// ---------------------------------------------------------------------------------------
// Calendar: days since 1970-01-01 <-> civil dates (H. Hinnant's algorithms).

struct Civil {
  int year;
  unsigned month;
  unsigned day;
};

std::int32_t days_from_civil(int year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned mp = month > 2 ? month - 3 : month + 9;
  const unsigned doy = (153 * mp + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

Civil civil_from_days(std::int32_t days) {
  const int z = days + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(yoe) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

unsigned days_in_month(int year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// contract 2 "monthly": same day of month as the first, or the month's last day.
std::int32_t plus_months_clamped(std::int32_t first, int months) {
  const Civil c = civil_from_days(first);
  const int index = c.year * 12 + static_cast<int>(c.month) - 1 + months;
  const int year = index / 12;
  const auto month = static_cast<unsigned>(index % 12 + 1);
  return days_from_civil(year, month, std::min(c.day, days_in_month(year, month)));
}

// "YYYY-MM-DD" of every day the stream can mention, made once.
class DateTable {
 public:
  DateTable(std::int32_t first, std::int32_t last) : first_(first) {
    texts_.resize(static_cast<std::size_t>(last - first + 1) * kLength);
    for (std::int32_t day = first; day <= last; ++day) {
      const Civil c = civil_from_days(day);
      fmt::format_to_n(&texts_[static_cast<std::size_t>(day - first) * kLength], kLength, "{:04}-{:02}-{:02}", c.year,
                       c.month, c.day);
    }
  }
  std::string_view text(std::int32_t day) const {
    GENERATE_INVARIANT(day >= first_ && static_cast<std::size_t>(day - first_) * kLength < texts_.size());
    return {&texts_[static_cast<std::size_t>(day - first_) * kLength], kLength};
  }

 private:
  static constexpr std::size_t kLength = 10;
  std::int32_t first_;
  std::string texts_;
};

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64 and our own ranges (std distributions differ between libraries).

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // [0, n), n > 0: Lemire's multiply-shift (bias below 2^-40 for our n).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  std::int64_t between(std::int64_t low, std::int64_t high) {  // inclusive
    return low + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(high - low) + 1));
  }
  std::int32_t days(std::int32_t low, std::int32_t high) { return static_cast<std::int32_t>(between(low, high)); }
  bool percent(std::uint64_t p) { return below(100) < p; }
  // An index chosen with the given weights.
  std::size_t weighted(std::initializer_list<std::uint64_t> weights) {
    std::uint64_t total = 0;
    for (std::uint64_t w : weights) total += w;
    std::uint64_t roll = below(total);
    std::size_t index = 0;
    for (std::uint64_t w : weights) {
      if (roll < w) return index;
      roll -= w;
      ++index;
    }
    return index - 1;
  }
  template <class T, std::size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }

 private:
  std::uint64_t state_;
};

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  Rng rng{seed ^ (stream * 0xd1b54a32d192ed03ULL)};
  rng.next();
  return rng.next();
}

// ---------------------------------------------------------------------------------------
// The model of one account: what the engine will hold after each good line.

enum class Kind : std::uint8_t { cash, direct_debit, discount };
enum class Status : std::uint8_t { pending, current, broken, completed, cancelled };
enum class Persona : std::uint8_t { no_plan, cash, direct_debit, discount };
// How a customer pays a plan.
enum class Habit : std::uint8_t { on_time, late, partial, lapse, payoff };

constexpr std::string_view kKindText[] = {"cash", "direct_debit", "discount"};

bool is_open(Status s) { return s == Status::pending || s == Status::current || s == Status::broken; }
bool is_running(Status s) { return s == Status::current || s == Status::broken; }

constexpr std::uint16_t kExcess = UINT16_MAX;  // Part::instalment of money beyond the last one

// Money of one payment counted towards one instalment (or the excess). A plan keeps all of
// them in one list, in the order they were paid in (fewer allocations than a list each).
struct Part {
  std::uint16_t instalment;
  std::uint32_t payment;
  std::int64_t amount;
};

struct Instalment {
  std::int32_t due_day;
  std::int64_t amount;
  std::int64_t paid = 0;             // the sum of its parts
  std::int32_t return_day = kNoDay;  // latest return that took money out of it
  bool skipped = false;
};

struct Plan {
  std::uint16_t number = 0;
  Kind kind = Kind::cash;
  Status status = Status::pending;
  Habit habit = Habit::on_time;
  std::vector<std::uint8_t> covered;  // obligation indexes, in priority order
  std::int64_t settlement = 0;        // discount only
  std::vector<Instalment> instalments;
  std::vector<Part> parts;
  std::uint16_t next_position = 0;   // the instalment the customer pays next
  std::uint16_t positions_paid = 0;  // how many the customer has paid so far
  std::uint16_t lapse_after = 0;     // Habit::lapse: stops after this many
  bool payment_planned = false;      // a pay_instalment task is waiting

  std::int64_t applied() const {  // all parts, instalments and excess
    std::int64_t sum = 0;
    for (const Part& p : parts) sum += p.amount;
    return sum;
  }
};

struct Obligation {
  std::int32_t due_day;
  std::int64_t balance;  // exact
  std::int64_t penalty;  // exact only while !touched
  bool plan_eligible = true;
  bool covered = false;  // by the open plan
  bool touched = false;  // money moved on it: its components are no longer known
};

struct AppliedLine {
  std::uint8_t obligation;
  std::int64_t amount;
};

// A payment the bank will return: what it paid, to reverse it exactly (contract 3 "Returns").
struct PendingReturn {
  std::uint32_t payment;
  std::int64_t amount;
  std::vector<AppliedLine> lines;
  bool repaid_after;  // the customer pays again within the direct-debit grace
};

enum class Act : std::uint8_t {
  arrive,
  create_plan,
  activate,
  pay_instalment,
  top_up,
  return_payment,
  repay_return,
  react_to_break,
  review_agency,
  review_customer,
  reschedule,
  add_obligation,
  accrue_interest,
  remit_penalty,
  pay_ad_hoc,
  pay_off_obligation,
  reassess_paid_obligation,
  cancel_plan,
  cancel_unsigned,
};

struct Task {
  std::int32_t day;
  Act act;
  std::uint16_t plan;  // the plan it belongs to (0: none)
  std::int64_t arg;
};

struct Account {
  Rng rng;
  Persona persona = Persona::no_plan;
  std::uint16_t plans = 0;     // arrangements created: R1, R2, ...
  std::uint16_t ad_hoc = 0;    // ad hoc payments made
  std::uint16_t accruals = 0;  // interest accruals sent
  std::uint32_t payments = 0;  // payment ids used: P1, P2, ...
  std::vector<Obligation> obligations;
  std::optional<Plan> plan;  // the open plan, or the last one
  std::vector<PendingReturn> returns;
  std::vector<Task> tasks;  // by day, then by insertion

  Plan* open_plan() { return plan && is_open(plan->status) ? &*plan : nullptr; }
  Plan* running_plan(std::uint16_t number) {
    return plan && plan->number == number && is_running(plan->status) ? &*plan : nullptr;
  }
  std::int64_t debt() const {
    std::int64_t sum = 0;
    for (const Obligation& o : obligations) sum += o.balance;
    return sum;
  }
  std::int64_t covered_balance() const {
    std::int64_t sum = 0;
    if (plan)
      for (std::uint8_t i : plan->covered) sum += obligations[i].balance;
    return sum;
  }
};

// contract 6 "Direct debit": a returned instalment breaks 3 days after the latest return.
std::int32_t break_deadline(const Plan& plan, const Instalment& i) {
  if (plan.kind == Kind::direct_debit && i.return_day != kNoDay) return i.return_day + kReturnGraceDays;
  return i.due_day + kCashGraceDays;
}

bool has_missed(const Plan& plan, std::int32_t today) {
  for (const Instalment& i : plan.instalments)
    if (!i.skipped && i.paid < i.amount && break_deadline(plan, i) <= today) return true;
  return false;
}

// contract 3 "Instalments": a payment's money counts oldest unpaid first, the rest is excess.
void flow(Plan& plan, std::uint32_t payment, std::int64_t amount) {
  for (std::size_t index = 0; index < plan.instalments.size() && amount > 0; ++index) {
    Instalment& i = plan.instalments[index];
    if (i.skipped || i.paid >= i.amount) continue;
    const std::int64_t take = std::min(i.amount - i.paid, amount);
    plan.parts.push_back(Part{static_cast<std::uint16_t>(index), payment, take});
    i.paid += take;
    amount -= take;
  }
  if (amount > 0) plan.parts.push_back(Part{kExcess, payment, amount});
}

// Takes the parts `which` selects out of the plan (unpaying their instalments), in the
// order they were paid in.
template <class Which>
std::vector<Part> take_parts(Plan& plan, Which which) {
  std::vector<Part> taken;
  std::erase_if(plan.parts, [&](const Part& p) {
    if (!which(p)) return false;
    if (p.instalment != kExcess) plan.instalments[p.instalment].paid -= p.amount;
    taken.push_back(p);
    return true;
  });
  return taken;
}

// ---------------------------------------------------------------------------------------
// Money and ids as text.

void put_uint(fmt::memory_buffer& out, std::uint64_t n, int width = 0) {
  char digits[24];
  int length = 0;
  do {
    digits[length++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  for (int i = length; i < width; ++i) out.push_back('0');
  while (length > 0) out.push_back(digits[--length]);
}

void put_money(fmt::memory_buffer& out, std::int64_t cents) {
  if (cents < 0) {
    out.push_back('-');
    cents = -cents;
  }
  put_uint(out, static_cast<std::uint64_t>(cents / 100));
  out.push_back('.');
  put_uint(out, static_cast<std::uint64_t>(cents % 100), 2);
}

std::string money_text(std::int64_t cents) {
  fmt::memory_buffer out;
  put_money(out, cents);
  return fmt::to_string(out);
}

std::int64_t percent_of(std::int64_t cents, std::int64_t percent) { return cents * percent / 100; }

// P(a bad line in front of a good one) = share / (1 - share), so that bad lines are `permille`
// of all lines; as a threshold on a 64-bit random number.
std::uint64_t bad_threshold(std::uint32_t permille) {
  const unsigned __int128 threshold = (static_cast<unsigned __int128>(permille) << 64) / (1000 - permille);
  return threshold > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(threshold);
}

// ---------------------------------------------------------------------------------------
// The generator: a day loop over buckets of accounts with something to do that day.

class Generator {
 public:
  Generator(const GenerateOptions& options, LineSink& sink, GenerateSummary& summary, const GenerateProgress& on_day)
      : options_(options),
        sink_(sink),
        summary_(summary),
        on_day_(on_day),
        dates_(options.start_day - kDateTableMarginDays,
               options.start_day + static_cast<std::int32_t>(options.days) + kDateTableMarginDays),
        accounts_(options.accounts),
        buckets_(options.days),
        strays_rng_(mix_seed(options.seed, 0)),
        bad_rng_(mix_seed(options.seed, 1)),
        redelivery_rng_(mix_seed(options.seed, 2)),
        bad_threshold_(bad_threshold(options.bad_permille)) {
    buffer_.reserve(kFlushBytes + 65536);
    for (std::uint64_t i = 0; i < options.accounts; ++i) {
      Account& account = accounts_[i];
      account.rng = Rng{mix_seed(options.seed, i + kFirstAccountStream)};
      const std::int32_t late_arrivals = std::max<std::int32_t>(1, static_cast<std::int32_t>(options.days) * 6 / 10);
      const std::int32_t arrival = account.rng.percent(35) ? 0 : account.rng.days(0, late_arrivals - 1);
      account.tasks.reserve(kTasksReserved);
      add_task(account, Task{arrival, Act::arrive, 0, 0});
      buckets_[static_cast<std::size_t>(arrival)].push_back(static_cast<std::uint32_t>(i));
    }
  }

  bool run() {
    for (std::uint32_t d = 0; d < options_.days && ok_; ++d) {
      today_ = options_.start_day + static_cast<std::int32_t>(d);
      business_date();
      const std::vector<std::uint32_t> bucket = std::move(buckets_[d]);
      for (std::size_t i = 0; i < bucket.size(); ++i) {
        prefetch(bucket, i);
        visit(bucket[i], d);
      }
      strays();
      summary_.days_done = d + 1;
      if (on_day_) on_day_(summary_);
    }
    flush();
    return ok_;
  }

 private:
  // The accounts of a day are scattered over memory: ask for the next ones early (the loop
  // is bound by cache misses, not by work).
  void prefetch(const std::vector<std::uint32_t>& bucket, std::size_t i) {
    constexpr std::size_t kAccountsAhead = 12;
    constexpr std::size_t kPlansAhead = 6;
    static_assert(sizeof(Account) <= 4 * 64, "one prefetch per cache line of an account");
    const Account* accounts = accounts_.data();
    if (i + kAccountsAhead < bucket.size()) {
      const char* account = reinterpret_cast<const char*>(accounts + bucket[i + kAccountsAhead]);
      touch(account);
      touch(account + 64);
      touch(account + 128);
      touch(account + 192);
    }
    if (i + kPlansAhead < bucket.size()) {
      const Account* account = accounts + bucket[i + kPlansAhead];
      if (!account->tasks.empty()) touch(account->tasks.data());
      if (account->plan && !account->plan->instalments.empty()) touch(account->plan->instalments.data());
    }
  }
  // GCC 12's IPA modref pass drops __builtin_prefetch calls in this class at -O2 (measured:
  // no prefetch instruction left, 18 s instead of 11 s for 10M lines), so x86 says it itself.
  static void touch(const void* address) {
#if defined(__x86_64__) || defined(__i386__)
    asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(address)));
#else
    __builtin_prefetch(address);
#endif
  }

  // --- output -----------------------------------------------------------------------

  void put(std::string_view text) { buffer_.append(text.data(), text.data() + text.size()); }
  void put_date(std::int32_t day) { put(dates_.text(day)); }

  void flush() {
    if (!ok_ || buffer_.size() == 0) return;
    ok_ = sink_.write(std::string_view(buffer_.data(), buffer_.size()));
    buffer_.clear();
  }

  // {"type":"T","event_id":"eN" -- with, first, perhaps a bad line in front of it.
  void open(LineType type) {
    if (type != LineType::business_date && bad_threshold_ != 0 && bad_rng_.next() < bad_threshold_) bad_line();
    line_start_ = buffer_.size();
    put(R"({"type":")");
    put(to_string(type));
    put(R"(","event_id":"e)");
    put_uint(buffer_, ++events_);
    put("\"");
  }
  void close(LineType type) {
    put("}\n");
    ++summary_.lines;
    ++summary_.good_by_type[static_cast<std::size_t>(type)];
    // Kafka delivers at least once: now and then the same line again (a silent no-op).
    if (type != LineType::business_date && redelivery_rng_.below(1'000'000) < kRedeliveryPerMillion) {
      const std::size_t end = buffer_.size();
      buffer_.reserve(end + (end - line_start_));
      buffer_.append(buffer_.data() + line_start_, buffer_.data() + end);
      ++summary_.lines;
      ++summary_.redeliveries;
    }
    if (buffer_.size() >= kFlushBytes) flush();
  }
  void account_field() {
    put(R"(,"account_id":"A)");
    put_uint(buffer_, current_ + 1, 7);
    put("\"");
  }
  void id_field(std::string_view key, char prefix, std::uint64_t number) {
    put(",\"");
    put(key);
    put("\":\"");
    buffer_.push_back(prefix);
    put_uint(buffer_, number);
    put("\"");
  }
  void date_field(std::string_view key, std::int32_t day) {
    put(",\"");
    put(key);
    put("\":\"");
    put_date(day);
    put("\"");
  }
  void money_field(std::string_view key, std::int64_t cents) {
    put(",\"");
    put(key);
    put("\":\"");
    put_money(buffer_, cents);
    put("\"");
  }
  void text_field(std::string_view key, std::string_view text) {
    put(",\"");
    put(key);
    put("\":\"");
    put(text);
    put("\"");
  }
  // An account message: {"type":...,"event_id":...,"account_id":...
  void open_account(LineType type) {
    open(type);
    account_field();
  }

  // --- the day loop -------------------------------------------------------------------

  void business_date() {
    put(R"({"type":"business_date","event_id":"bd-)");
    put_date(today_);
    put(R"(","date":")");
    put_date(today_);
    put("\"");
    close(LineType::business_date);
  }

  void add_task(Account& account, Task task) {
    auto at = std::upper_bound(account.tasks.begin(), account.tasks.end(), task.day,
                               [](std::int32_t day, const Task& t) { return day < t.day; });
    account.tasks.insert(at, task);
  }
  // A task `in_days` from today (a day index into the stream, not a date).
  void later(Account& account, std::int32_t in_days, Act act, std::uint16_t plan = 0, std::int64_t arg = 0) {
    add_task(account, Task{day_index_ + std::max(0, in_days), act, plan, arg});
  }
  void on_date(Account& account, std::int32_t date, Act act, std::uint16_t plan = 0, std::int64_t arg = 0) {
    add_task(account, Task{std::max(day_index_, date - options_.start_day), act, plan, arg});
  }
  void drop_tasks(Account& account, Act act) {
    std::erase_if(account.tasks, [act](const Task& t) { return t.act == act; });
  }

  void visit(std::uint32_t index, std::uint32_t day) {
    current_ = index;
    day_index_ = static_cast<std::int32_t>(day);
    Account& account = accounts_[index];
    check_breaks(account);
    for (std::size_t done = 0; !account.tasks.empty() && account.tasks.front().day <= day_index_; ++done) {
      GENERATE_INVARIANT(done < kTasksPerVisitMax);
      const Task task = account.tasks.front();
      account.tasks.erase(account.tasks.begin());
      run_task(account, task);
    }
    if (account.tasks.empty()) {
      release(account);
      return;
    }
    const auto next = static_cast<std::uint32_t>(account.tasks.front().day);
    if (next < options_.days) buckets_[next].push_back(index);
  }

  // Nothing left to do: the account's model is not needed any more.
  static void release(Account& account) {
    std::vector<Obligation>().swap(account.obligations);
    std::vector<PendingReturn>().swap(account.returns);
    std::vector<Task>().swap(account.tasks);
    account.plan.reset();
  }

  void run_task(Account& account, const Task& task) {
    switch (task.act) {
      case Act::arrive: return arrive(account);
      case Act::create_plan: return create_plan(account);
      case Act::activate: return activate(account, task.plan);
      case Act::pay_instalment: return pay_instalment(account, task.plan);
      case Act::top_up: return top_up(account, task.plan, task.arg);
      case Act::return_payment: return return_payment(account, static_cast<std::uint32_t>(task.arg));
      case Act::repay_return: return repay_return(account, task.plan, task.arg);
      case Act::react_to_break: return react_to_break(account, task.plan);
      case Act::review_agency: return review(account, task.plan, "agency");
      case Act::review_customer: return review(account, task.plan, "customer");
      case Act::reschedule: return reschedule(account, task.plan);
      case Act::add_obligation: return add_obligation(account, task.plan);
      case Act::accrue_interest: return accrue_interest(account);
      case Act::remit_penalty: return remit_penalty(account);
      case Act::pay_ad_hoc: return pay_ad_hoc(account);
      case Act::pay_off_obligation: return pay_off_obligation(account);
      case Act::reassess_paid_obligation: return reassess_paid_obligation(account, static_cast<std::size_t>(task.arg));
      case Act::cancel_plan: return cancel(account, task.plan, "customer request");
      case Act::cancel_unsigned: return cancel_unsigned(account, task.plan);
    }
  }

  // --- the model's rules (contract 3 and 6) -----------------------------------------

  // contract 6 "Deadlines": a current plan breaks when the business date reaches a deadline
  // of an instalment not fully paid. Checked at each visit and after each message.
  void check_breaks(Account& account) {
    if (account.plan && account.plan->status == Status::current && has_missed(*account.plan, today_))
      account.plan->status = Status::broken;
  }

  // contract 6 "Statuses": a running plan whose covered obligations are all at zero completes.
  void check_completion(Account& account) {
    Plan* plan = account.plan ? &*account.plan : nullptr;
    if (plan && is_running(plan->status) && account.covered_balance() == 0) close_plan(account, Status::completed);
  }

  void close_plan(Account& account, Status status) {
    account.plan->status = status;
    for (std::uint8_t i : account.plan->covered) account.obligations[i].covered = false;
    drop_tasks(account, Act::pay_instalment);
    account.plan->payment_planned = false;
  }

  // Takes what it can from one obligation (contract 6 "Discount": capped at the settlement
  // left; reaching it writes the rest off and completes the plan).
  void take(Account& account, std::size_t index, std::uint32_t payment, std::int64_t& remaining,
            std::vector<AppliedLine>& lines) {
    Obligation& o = account.obligations[index];
    if (o.balance == 0 || remaining == 0) return;
    Plan* cover = o.covered ? &*account.plan : nullptr;
    std::int64_t amount = std::min(o.balance, remaining);
    bool settles = false;
    if (cover && cover->kind == Kind::discount && is_running(cover->status)) {
      const std::int64_t cap = cover->settlement - cover->applied();
      GENERATE_INVARIANT(cap > 0);
      if (amount >= cap) {
        amount = cap;
        settles = true;
      }
    }
    o.balance -= amount;
    o.touched = true;
    remaining -= amount;
    lines.push_back(AppliedLine{static_cast<std::uint8_t>(index), amount});
    if (cover) flow(*cover, payment, amount);
    if (settles) {
      for (std::uint8_t i : cover->covered) {
        account.obligations[i].balance = 0;
        account.obligations[i].touched = true;
      }
      close_plan(account, Status::completed);
    }
  }

  // contract 3 "Distribution", steps 1-4, over whole obligations (components do not change
  // how much an obligation takes). The lines go to last_lines_, to reverse them on a return.
  void distribute(Account& account, std::uint32_t payment, std::int64_t amount, std::optional<std::size_t> designated) {
    std::vector<AppliedLine>& lines = last_lines_;
    lines.clear();
    std::int64_t remaining = amount;
    if (designated) take(account, *designated, payment, remaining, lines);
    if (account.plan && is_running(account.plan->status)) {
      for (std::size_t k = 0; k < account.plan->covered.size(); ++k)  // a settle leaves the list as it is
        take(account, account.plan->covered[k], payment, remaining, lines);
    }
    std::array<std::uint8_t, kObligationsPerAccountMax> order;  // step 3: (due_date, obligation_id)
    std::size_t owing = 0;
    for (std::size_t i = 0; i < account.obligations.size(); ++i)
      if (account.obligations[i].balance > 0) order[owing++] = static_cast<std::uint8_t>(i);
    std::stable_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(owing), [&](std::size_t a, std::size_t b) {
      return account.obligations[a].due_day < account.obligations[b].due_day;
    });
    for (std::size_t k = 0; k < owing; ++k) take(account, order[k], payment, remaining, lines);
    check_completion(account);  // what is left of `remaining` is credit
  }

  // contract 3 "Returns": balances back, the instalments it paid unpaid (marked for the
  // direct-debit deadline), nothing reopens.
  void reverse(Account& account, const PendingReturn& r) {
    for (const AppliedLine& line : r.lines) account.obligations[line.obligation].balance += line.amount;
    if (!account.plan) return;
    Plan& plan = *account.plan;
    for (const Part& p : take_parts(plan, [&](const Part& part) { return part.payment == r.payment; }))
      if (p.instalment != kExcess) plan.instalments[p.instalment].return_day = today_;
  }

  // --- stories: arrival ---------------------------------------------------------------

  std::int64_t tax_amount(Rng& rng) {
    switch (rng.weighted({20, 50, 25, 5})) {
      case 0: return rng.between(150'00, 1'500'00);
      case 1: return rng.between(1'500'00, 8'000'00);
      case 2: return rng.between(8'000'00, 40'000'00);
      default: return rng.between(40'000'00, 150'000'00);
    }
  }

  // obligation_assessed with a due date `due_day`; returns the new obligation's index.
  std::size_t assess(Account& account, std::int32_t due_day, bool plan_eligible) {
    // Informational fields (contract 6: never read), made to look like the real thing: annual
    // taxes name the year before the due date, quarterly ones the quarter before it.
    static constexpr std::string_view kTaxTypes[] = {"income", "gst", "payg", "fbt", "land"};
    Rng& rng = account.rng;
    const std::string_view tax_type = rng.pick(kTaxTypes);
    const bool quarterly = tax_type == "gst" || tax_type == "payg";
    const Civil period = civil_from_days(due_day - (quarterly ? 45 : 200));
    const std::int64_t tax = tax_amount(rng);
    const std::int64_t penalty = rng.percent(50) ? percent_of(tax, rng.between(1, 10)) : 0;
    const std::int64_t interest = rng.percent(60) ? percent_of(tax, rng.between(1, 5)) : 0;
    account.obligations.push_back(Obligation{.due_day = due_day,
                                             .balance = tax + penalty + interest,
                                             .penalty = penalty,
                                             .plan_eligible = plan_eligible});
    const std::size_t index = account.obligations.size() - 1;
    open_account(LineType::obligation_assessed);
    id_field("obligation_id", 'O', index + 1);
    date_field("due_date", due_day);
    put(R"(,"amounts":{"tax":")");
    put_money(buffer_, tax);
    if (penalty > 0) {
      put(R"(","penalty":")");
      put_money(buffer_, penalty);
    }
    if (interest > 0) {
      put(R"(","interest":")");
      put_money(buffer_, interest);
    }
    put("\"}");
    text_field("tax_type", tax_type);
    put(R"(,"period":")");
    put_uint(buffer_, static_cast<std::uint64_t>(period.year));
    if (quarterly) {
      put("-Q");
      put_uint(buffer_, (period.month + 2) / 3);
    }
    put("\"");
    if (!plan_eligible) put(R"(,"plan_eligible":false)");
    close(LineType::obligation_assessed);
    return index;
  }

  void arrive(Account& account) {
    Rng& rng = account.rng;
    const bool existing_book = day_index_ == 0;
    account.obligations.reserve(4);
    const std::size_t count = 1 + rng.weighted({55, 30, 15});
    for (std::size_t n = 0; n < count; ++n) {
      std::int32_t due = today_ + rng.days(7, 35);
      if (existing_book ? rng.percent(70) : rng.percent(25)) due = today_ - rng.days(1, 120);
      assess(account, due, n == 0 || rng.percent(94));
    }
    account.persona = static_cast<Persona>(rng.weighted({22, 38, 27, 13}));
    if (rng.percent(6)) later(account, rng.days(0, 2), Act::remit_penalty);
    if (account.persona != Persona::no_plan) {
      later(account, existing_book ? rng.days(0, 20) : rng.days(1, 25), Act::create_plan);
      return;
    }
    if (rng.percent(75)) later(account, rng.days(3, 25), Act::pay_ad_hoc);
    if (rng.percent(60)) later(account, rng.days(20, 35), Act::accrue_interest);
    if (account.obligations.size() >= 2 && rng.percent(40)) later(account, rng.days(5, 30), Act::pay_off_obligation);
    // The agency calls after the NO_ARRANGEMENT: some agree a plan after all.
    if (rng.percent(25)) later(account, rng.days(20, 45), Act::create_plan);
  }

  // --- stories: arrangements ----------------------------------------------------------

  struct Cadence {
    std::string_view name;  // contract 2 frequency
    std::int32_t days;      // 0: monthly
  };
  static constexpr Cadence kWeekly{"weekly", 7};
  static constexpr Cadence kFortnightly{"fortnightly", 14};
  static constexpr Cadence kMonthly{"monthly", 0};

  static std::int32_t nth_due(std::int32_t first, const Cadence& cadence, std::int64_t n) {
    if (cadence.days == 0) return plus_months_clamped(first, static_cast<int>(n));
    return first + cadence.days * static_cast<std::int32_t>(n);
  }

  void create_plan(Account& account) {
    Rng& rng = account.rng;
    if (account.open_plan() || account.plans >= kPlansPerAccountMax) return;
    std::vector<std::uint8_t> covered;
    std::int64_t total = 0;
    for (std::size_t i = 0; i < account.obligations.size(); ++i) {
      const Obligation& o = account.obligations[i];
      if (o.plan_eligible && o.balance > 0) {
        covered.push_back(static_cast<std::uint8_t>(i));
        total += o.balance;
      }
    }
    if (covered.empty() || total < 100'00) return;  // nothing worth a plan
    Kind kind = Kind::cash;
    if (account.persona == Persona::direct_debit) kind = Kind::direct_debit;
    if (account.persona == Persona::discount && account.plans == 0) kind = Kind::discount;
    if (account.plans > 0 && rng.percent(40)) kind = Kind::direct_debit;

    Plan plan;
    plan.number = ++account.plans;
    plan.kind = kind;
    plan.covered = covered;
    if (kind == Kind::discount) {
      plan.settlement = percent_of(total, rng.between(60, 90));
      total = plan.settlement;
    }
    const Cadence cadence = kind == Kind::discount ? (rng.percent(50) ? kWeekly : kFortnightly)
                            : rng.percent(30)      ? kWeekly
                            : rng.percent(64)      ? kFortnightly
                                                   : kMonthly;
    std::int64_t count = kind == Kind::discount   ? rng.between(1, 3)
                         : cadence.days == 7      ? rng.between(4, 10)
                         : cadence.days == 14     ? rng.between(3, 6)
                                                  : rng.between(2, 4);
    const std::int32_t first_due = today_ + rng.days(5, 21);

    open_account(LineType::arrangement_created);
    id_field("arrangement_id", 'R', plan.number);
    text_field("kind", kKindText[static_cast<std::size_t>(kind)]);
    put(R"(,"covered_obligations":[)");
    for (std::size_t i = 0; i < covered.size(); ++i) {
      put(i == 0 ? "\"O" : ",\"O");
      put_uint(buffer_, covered[i] + 1u);
      put("\"");
    }
    put("]");
    date_field("start_date", today_);
    if (kind == Kind::discount) money_field("settlement_amount", plan.settlement);
    if (rng.percent(45)) {
      recommend(plan, rng, total, count, cadence, first_due);
      ++summary_.recommends;
    } else {
      explicit_schedule(plan, rng, total, count, cadence, first_due);
      ++summary_.schedules;
    }
    close(LineType::arrangement_created);
    ++summary_.arrangements_by_kind[static_cast<std::size_t>(kind)];

    for (std::uint8_t i : covered) account.obligations[i].covered = true;
    plan.habit = kind == Kind::direct_debit ? static_cast<Habit>(rng.weighted({70, 0, 0, 22, 8}))
                                            : static_cast<Habit>(rng.weighted({50, 15, 10, 18, 7}));
    plan.lapse_after = static_cast<std::uint16_t>(rng.between(0, 2));
    account.plan = std::move(plan);
    plan_the_plan(account);
  }

  // What happens to a new plan besides its payments: signing, reviews, changes, cancels.
  void plan_the_plan(Account& account) {
    Rng& rng = account.rng;
    const Plan& plan = *account.plan;
    const std::uint16_t n = plan.number;
    if (rng.percent(6)) {
      later(account, rng.days(10, 20), Act::cancel_unsigned, n);
      if (rng.percent(40)) later(account, rng.days(25, 40), Act::create_plan);
      return;
    }
    if (rng.percent(55))
      activate(account, n);
    else
      later(account, rng.days(1, 4), Act::activate, n);
    if (rng.percent(5)) later(account, rng.days(5, 60), Act::review_customer, n);
    if (rng.percent(9)) later(account, rng.days(5, 50), Act::review_agency, n);
    if (plan.kind != Kind::discount && rng.percent(8)) later(account, rng.days(20, 50), Act::reschedule, n);
    if (plan.kind != Kind::discount && rng.percent(5)) later(account, rng.days(10, 40), Act::add_obligation, n);
    if (rng.percent(20)) later(account, rng.days(20, 45), Act::accrue_interest);
    if (rng.percent(3)) later(account, rng.days(15, 60), Act::cancel_plan, n);
  }

  // contract 2 "recommend": the engine builds the schedule; the model builds the same one.
  void recommend(Plan& plan, Rng& rng, std::int64_t total, std::int64_t count, const Cadence& cadence,
                 std::int32_t first_due) {
    std::int64_t each = total / count;
    put(R"(,"recommend":{"rule":")");
    if (rng.percent(60)) {
      put(R"(equal_instalments","count":)");
      put_uint(buffer_, static_cast<std::uint64_t>(count));
    } else {
      each = (total / count + 99) / 100 * 100;  // whole dollars, rounded up
      count = (total + each - 1) / each;
      put(R"(fixed_amount","amount":")");
      put_money(buffer_, each);
      put("\"");
    }
    put(R"(,"frequency":")");
    put(cadence.name);
    put(R"(","first_due_date":")");
    put_date(first_due);
    put("\"}");
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t amount = i + 1 < count ? each : total - each * (count - 1);
      plan.instalments.push_back(Instalment{.due_day = nth_due(first_due, cadence, i), .amount = amount});
    }
  }

  // An explicit schedule: regular, a larger first instalment, or irregular dates (cash).
  void explicit_schedule(Plan& plan, Rng& rng, std::int64_t total, std::int64_t count, const Cadence& cadence,
                         std::int32_t first_due) {
    const bool larger_first = count >= 2 && rng.percent(25);
    const bool irregular = plan.kind == Kind::cash && rng.percent(20);
    std::int64_t first = total / count;
    if (larger_first) first = std::min(total - (count - 1), first * 3 / 2);
    const std::int64_t each = count > 1 ? (total - first) / (count - 1) : 0;
    std::int32_t due = first_due;
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t amount = i == 0 ? first : each;
      if (i + 1 == count) amount = total - (count == 1 ? 0 : first + each * (count - 2));
      if (i > 0) due = irregular ? due + rng.days(7, 30) : nth_due(first_due, cadence, i);
      plan.instalments.push_back(Instalment{.due_day = due, .amount = amount});
    }
    append_schedule(plan, 0);
  }

  void append_schedule(const Plan& plan, std::size_t from) {
    put(R"(,"schedule":[)");
    for (std::size_t i = from; i < plan.instalments.size(); ++i) {
      put(i == from ? R"({"due_date":")" : R"(,{"due_date":")");
      put_date(plan.instalments[i].due_day);
      put(R"(","amount":")");
      put_money(buffer_, plan.instalments[i].amount);
      put("\"}");
    }
    put("]");
  }

  void simple_plan_message(LineType type, std::uint16_t plan) {
    open_account(type);
    id_field("arrangement_id", 'R', plan);
  }

  void activate(Account& account, std::uint16_t n) {
    if (!account.plan || account.plan->number != n || account.plan->status != Status::pending) return;
    simple_plan_message(LineType::arrangement_activated, n);
    close(LineType::arrangement_activated);
    account.plan->status = Status::current;
    check_completion(account);
    check_breaks(account);
    plan_next_payment(account);
  }

  // The next instalment the customer pays, on the day their habit says.
  void plan_next_payment(Account& account) {
    Plan* plan = account.plan ? &*account.plan : nullptr;
    if (!plan || !is_running(plan->status) || plan->payment_planned) return;
    // Skipped instalments, and those that money paid ahead already covers, need no payment.
    while (plan->next_position < plan->instalments.size() &&
           (plan->instalments[plan->next_position].skipped ||
            plan->instalments[plan->next_position].paid >= plan->instalments[plan->next_position].amount))
      ++plan->next_position;
    Rng& rng = account.rng;
    if (plan->next_position >= plan->instalments.size()) {
      // Every instalment paid, debt left (interest accrued): one last payment clears it.
      if (plan->habit == Habit::lapse || left_to_finish(account) <= 0) return;
      plan->payment_planned = true;
      on_date(account, plan->instalments.back().due_day + rng.days(0, 7), Act::pay_instalment, plan->number);
      return;
    }
    const Instalment& next = plan->instalments[plan->next_position];
    if (plan->habit == Habit::lapse && plan->positions_paid >= plan->lapse_after &&
        plan->kind != Kind::direct_debit) {
      // Stops paying: the plan breaks at due + 14; the agency reacts some days later. The
      // instalment is unpaid, so a current plan's deadline is still ahead.
      const std::int32_t react = break_deadline(*plan, next) + rng.days(1, 10);
      on_date(account, std::max(react, today_ + 1), Act::react_to_break, plan->number);
      return;
    }
    std::int32_t day = next.due_day;
    if (plan->kind != Kind::direct_debit) {
      if (plan->habit == Habit::on_time || plan->habit == Habit::payoff) day -= rng.days(0, 3);
      if (plan->habit == Habit::late) day += rng.days(1, kCashGraceDays - 1);
    }
    plan->payment_planned = true;
    on_date(account, day, Act::pay_instalment, plan->number);
  }

  // What the customer still owes to finish the plan.
  std::int64_t left_to_finish(const Account& account) const {
    const Plan& plan = *account.plan;
    const std::int64_t covered = account.covered_balance();
    if (plan.kind == Kind::discount) return std::min(covered, plan.settlement - plan.applied());
    return covered;
  }

  std::string_view plan_method(Account& account) {
    static constexpr std::string_view kMethods[] = {"bpay", "card", "eft", "bpay", "cash", "cheque"};
    return account.plan->kind == Kind::direct_debit ? "direct_debit" : account.rng.pick(kMethods);
  }

  void pay_instalment(Account& account, std::uint16_t n) {
    Plan* plan = account.running_plan(n);
    if (!plan) return;
    plan->payment_planned = false;
    Rng& rng = account.rng;
    const bool beyond = plan->next_position >= plan->instalments.size();  // the clearing payment
    const std::int64_t scheduled = beyond ? 0 : plan->instalments[plan->next_position].amount;
    const bool last = beyond || plan->next_position + 1u == plan->instalments.size();
    const bool pays_off = plan->habit == Habit::payoff && plan->positions_paid >= 1;
    std::int64_t amount = last || pays_off ? std::max(scheduled, left_to_finish(account)) : scheduled;
    if (plan->habit == Habit::partial && !last) {
      amount = std::max<std::int64_t>(1, percent_of(scheduled, rng.between(40, 90)));
      if (rng.percent(60)) later(account, rng.days(3, 10), Act::top_up, n, scheduled - amount);
    }
    if (amount <= 0) return;
    const bool returned_for_lapse = plan->kind == Kind::direct_debit && plan->habit == Habit::lapse &&
                                    plan->positions_paid >= plan->lapse_after;
    const std::string_view method = plan_method(account);
    const bool named = rng.percent(50);
    const std::uint32_t payment = pay(account, amount, method, named ? std::optional{n} : std::nullopt, std::nullopt);
    ++plan->next_position;
    ++plan->positions_paid;
    if (returned_for_lapse) {
      // The account is closed: every debit comes back; the plan breaks 3 days after.
      const std::int32_t back = rng.days(1, 3);
      plan_return(account, payment, back, false);
      later(account, back + kReturnGraceDays + rng.days(1, 10), Act::react_to_break, n);
      return;
    }
    if (method == "direct_debit" && rng.percent(6)) plan_return(account, payment, rng.days(1, 3), rng.percent(50));
    if (method == "cheque" && rng.percent(15)) plan_return(account, payment, rng.days(2, 5), false);
    plan_next_payment(account);
  }

  void top_up(Account& account, std::uint16_t n, std::int64_t amount) {
    if (!account.running_plan(n) || amount <= 0) return;
    pay(account, amount, plan_method(account), std::optional{n}, std::nullopt);
  }

  // payment: writes it, runs it through the model; returns its payment number.
  std::uint32_t pay(Account& account, std::int64_t amount, std::string_view method,
                    std::optional<std::uint16_t> arrangement, std::optional<std::size_t> obligation) {
    Rng& rng = account.rng;
    open_account(LineType::payment);  // first: a bad line in front must not see this payment id
    const std::uint32_t payment = ++account.payments;
    id_field("payment_id", 'P', payment);
    money_field("amount", amount);
    date_field("received_date", rng.percent(10) ? today_ - 1 : today_);
    text_field("method", method);
    if (arrangement) id_field("arrangement_id", 'R', *arrangement);
    if (obligation) id_field("obligation_id", 'O', *obligation + 1);
    if (rng.percent(5)) put(R"(,"currency":"AUD")");
    close(LineType::payment);
    distribute(account, payment, amount, obligation);
    check_breaks(account);
    return payment;
  }

  // The bank returns `payment` in `in_days`; `repaid` if the customer pays again in time.
  void plan_return(Account& account, std::uint32_t payment, std::int32_t in_days, bool repaid) {
    std::int64_t amount = 0;
    for (const AppliedLine& line : last_lines_) amount += line.amount;
    account.returns.push_back(PendingReturn{payment, amount, last_lines_, repaid});
    later(account, in_days, Act::return_payment, 0, payment);
  }

  void return_payment(Account& account, std::uint32_t payment) {
    static constexpr std::string_view kReasons[] = {"R01", "AM04", "MD06", "2", "R09", "AC04", "6"};
    auto it = std::find_if(account.returns.begin(), account.returns.end(),
                           [&](const PendingReturn& r) { return r.payment == payment; });
    GENERATE_INVARIANT(it != account.returns.end());
    const PendingReturn r = std::move(*it);
    account.returns.erase(it);
    open_account(LineType::payment_returned);
    id_field("payment_id", 'P', payment);
    date_field("return_date", today_);
    text_field("reason_code", account.rng.pick(kReasons));
    close(LineType::payment_returned);
    reverse(account, r);
    last_returned_ = ReturnedPayment{current_, payment};
    check_breaks(account);
    if (r.repaid_after && account.plan) later(account, account.rng.days(0, 2), Act::repay_return, account.plan->number, r.amount);
  }

  void repay_return(Account& account, std::uint16_t n, std::int64_t amount) {
    if (!account.running_plan(n) || amount <= 0) return;
    pay(account, amount, plan_method(account), std::optional{n}, std::nullopt);
  }

  // A broken plan: skip the missed instalments (current again), pay the arrears (stays
  // broken until it completes), or cancel.
  void react_to_break(Account& account, std::uint16_t n) {
    Plan* plan = account.running_plan(n);
    if (!plan) return;
    Rng& rng = account.rng;
    if (plan->status == Status::current) return plan_next_payment(account);
    const std::size_t choice = rng.weighted({35, 25, 40});
    if (choice == 2) return cancel(account, n, "arrangement broken");
    if (choice == 0) {
      for (std::size_t i = 0; i < plan->instalments.size(); ++i) {
        Instalment& inst = plan->instalments[i];
        if (inst.skipped || inst.paid >= inst.amount || break_deadline(*plan, inst) > today_) continue;
        skip(account, i);
      }
    } else {
      std::int64_t arrears = 0;
      for (const Instalment& inst : plan->instalments)
        if (!inst.skipped && inst.paid < inst.amount && break_deadline(*plan, inst) <= today_) arrears += inst.amount - inst.paid;
      if (arrears > 0) pay(account, arrears, rng.percent(50) ? "bpay" : "card", std::optional{n}, std::nullopt);
    }
    plan = account.running_plan(n);
    if (!plan) return;
    plan->habit = rng.percent(70) ? Habit::on_time : Habit::lapse;
    plan->lapse_after = static_cast<std::uint16_t>(plan->positions_paid + rng.between(1, 2));
    plan->next_position = 0;
    while (plan->next_position < plan->instalments.size() &&
           (plan->instalments[plan->next_position].skipped ||
            plan->instalments[plan->next_position].paid >= plan->instalments[plan->next_position].amount))
      ++plan->next_position;
    plan_next_payment(account);
  }

  // instalment_skipped: money on a partly paid one moves on (contract 6 "Skip").
  void skip(Account& account, std::size_t index) {
    Plan& plan = *account.plan;
    Instalment& inst = plan.instalments[index];
    open_account(LineType::instalment_skipped);
    id_field("arrangement_id", 'R', plan.number);
    date_field("due_date", inst.due_day);
    close(LineType::instalment_skipped);
    const auto number = static_cast<std::uint16_t>(index);
    const std::vector<Part> moved = take_parts(plan, [number](const Part& p) { return p.instalment == number; });
    inst.skipped = true;
    for (const Part& part : moved) flow(plan, part.payment, part.amount);
    if (plan.status == Status::broken && !has_missed(plan, today_)) plan.status = Status::current;
  }

  void review(Account& account, std::uint16_t n, std::string_view requested_by) {
    if (!account.plan || account.plan->number != n || !is_open(account.plan->status)) return;
    simple_plan_message(LineType::arrangement_review, n);
    text_field("requested_by", requested_by);
    close(LineType::arrangement_review);
  }

  // A plan the customer never signed: still pending after days, cancelled.
  void cancel_unsigned(Account& account, std::uint16_t n) {
    if (account.plan && account.plan->number == n && account.plan->status == Status::pending)
      cancel(account, n, "not signed");
  }

  void cancel(Account& account, std::uint16_t n, std::string_view reason) {
    Plan* plan = account.open_plan();
    if (!plan || plan->number != n) return;
    simple_plan_message(LineType::arrangement_cancelled, n);
    text_field("reason", reason);
    close(LineType::arrangement_cancelled);
    close_plan(account, Status::cancelled);
    if (account.rng.percent(30)) later(account, account.rng.days(10, 30), Act::create_plan);
  }

  // arrangement_updated with a new schedule (and perhaps a new covered list): the paid
  // instalments stay, the rest of the debt is spread again from next week.
  void update(Account& account, bool with_covered) {
    Plan& plan = *account.plan;
    Rng& rng = account.rng;
    const std::int64_t rest_before = plan.applied() + account.covered_balance();
    if (rest_before <= 0) return;  // a pending plan paid off by payments: nothing to spread
    std::vector<Instalment> kept;
    std::int64_t kept_total = 0;
    for (Instalment& i : plan.instalments) {
      if (!i.skipped && i.paid == i.amount) {
        kept.push_back(Instalment{.due_day = i.due_day, .amount = i.amount});
        kept_total += i.amount;
      }
    }
    // contract 6: the old instalments' parts in schedule order (each in the order it was
    // paid in), then the excess, flow into the new schedule.
    std::vector<Part> parts = std::move(plan.parts);
    plan.parts.clear();
    std::stable_sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) { return a.instalment < b.instalment; });
    const std::int64_t rest = rest_before - kept_total;
    GENERATE_INVARIANT(rest > 0);
    const std::int64_t count = std::min<std::int64_t>(rng.between(2, 6), rest);
    std::int32_t due = std::max(today_ + 7, kept.empty() ? today_ : kept.back().due_day + 1);
    const std::int32_t gap = rng.percent(50) ? 14 : 28;
    for (std::int64_t n = 0; n < count; ++n, due += gap)
      kept.push_back(Instalment{.due_day = due, .amount = n + 1 < count ? rest / count : rest - rest / count * (count - 1)});
    plan.instalments = std::move(kept);
    for (const Part& part : parts) flow(plan, part.payment, part.amount);

    simple_plan_message(LineType::arrangement_updated, plan.number);
    if (with_covered) {
      put(R"(,"covered_obligations":[)");
      for (std::size_t i = 0; i < plan.covered.size(); ++i) {
        put(i == 0 ? "\"O" : ",\"O");
        put_uint(buffer_, plan.covered[i] + 1u);
        put("\"");
      }
      put("]");
    }
    append_schedule(plan, 0);
    close(LineType::arrangement_updated);

    check_completion(account);
    check_breaks(account);
    if (!is_running(plan.status)) return;
    drop_tasks(account, Act::pay_instalment);
    plan.payment_planned = false;
    plan.next_position = 0;
    while (plan.next_position < plan.instalments.size() && plan.instalments[plan.next_position].paid >= plan.instalments[plan.next_position].amount)
      ++plan.next_position;
    plan_next_payment(account);
  }

  void reschedule(Account& account, std::uint16_t n) {
    Plan* plan = account.open_plan();
    if (!plan || plan->number != n || plan->kind == Kind::discount) return;
    update(account, false);
  }

  // A new assessment during a plan; half the time the plan is updated to cover it.
  void add_obligation(Account& account, std::uint16_t n) {
    if (account.obligations.size() >= kObligationsPerAccountMax) return;
    Rng& rng = account.rng;
    const std::size_t index = assess(account, today_ + rng.days(14, 45), true);
    Plan* plan = account.open_plan();
    if (!plan || plan->number != n || plan->kind == Kind::discount || !rng.percent(50)) return;
    plan->covered.push_back(static_cast<std::uint8_t>(index));
    account.obligations[index].covered = true;
    update(account, true);
  }

  // --- stories: adjustments and payments without a plan ------------------------------

  void adjustment(std::size_t obligation, std::string_view component, std::int64_t delta, std::string_view reason) {
    open_account(LineType::obligation_adjusted);
    id_field("obligation_id", 'O', obligation + 1);
    put(R"(,"amounts":{")");
    put(component);
    put("\":\"");
    put_money(buffer_, delta);
    put("\"}");
    text_field("reason", reason);
    close(LineType::obligation_adjusted);
  }

  void accrue_interest(Account& account) {
    Rng& rng = account.rng;
    std::vector<std::size_t> owing;
    for (std::size_t i = 0; i < account.obligations.size(); ++i)
      if (account.obligations[i].balance > 0) owing.push_back(i);
    if (owing.empty()) return;
    const std::size_t index = owing[rng.below(owing.size())];
    Obligation& o = account.obligations[index];
    const std::int64_t delta = std::max<std::int64_t>(1'00, percent_of(o.balance, rng.between(1, 3)));
    adjustment(index, "interest", delta, "interest accrual");
    o.balance += delta;
    check_breaks(account);
    if (account.persona == Persona::no_plan && ++account.accruals < kAccrualsMax)
      later(account, rng.days(28, 35), Act::accrue_interest);
  }

  // A penalty remitted on objection: only where no money has moved, so the penalty is known.
  void remit_penalty(Account& account) {
    for (std::size_t i = 0; i < account.obligations.size(); ++i) {
      Obligation& o = account.obligations[i];
      if (o.touched || o.penalty == 0) continue;
      const std::int64_t delta = account.rng.between(1, o.penalty);
      adjustment(i, "penalty", -delta, "penalty remitted");
      o.penalty -= delta;
      o.balance -= delta;
      check_completion(account);
      check_breaks(account);
      return;
    }
  }

  void pay_ad_hoc(Account& account) {
    static constexpr std::string_view kMethods[] = {"bpay", "card", "eft", "cash", "cheque", "other"};
    Rng& rng = account.rng;
    const std::int64_t debt = account.debt();
    if (debt > 0) {
      std::optional<std::size_t> designated;
      if (rng.percent(25)) {
        const std::size_t index = rng.below(account.obligations.size());
        if (account.obligations[index].balance > 0) designated = index;
      }
      const std::string_view method = rng.pick(kMethods);
      const std::int64_t amount = std::max<std::int64_t>(1, percent_of(debt, rng.between(5, 60)));
      const std::uint32_t payment = pay(account, amount, method, std::nullopt, designated);
      if (method == "cheque" && rng.percent(20)) plan_return(account, payment, rng.days(2, 5), false);
    }
    if (++account.ad_hoc < kAdHocPaymentsMax && rng.percent(70)) later(account, rng.days(10, 35), Act::pay_ad_hoc);
  }

  // Pays one obligation off in full, naming it (step 1); later the obligation goes up again.
  void pay_off_obligation(Account& account) {
    for (std::size_t i = 0; i < account.obligations.size(); ++i) {
      const Obligation& o = account.obligations[i];
      if (o.balance == 0 || o.covered) continue;
      pay(account, o.balance, "eft", std::nullopt, i);
      later(account, account.rng.days(3, 15), Act::reassess_paid_obligation, 0, static_cast<std::int64_t>(i));
      return;
    }
  }

  // contract 3 "No arrangement": an uncovered obligation back above zero (debt_increased).
  void reassess_paid_obligation(Account& account, std::size_t index) {
    Obligation& o = account.obligations[index];
    if (o.balance != 0 || o.covered) return;
    const std::int64_t delta = account.rng.between(50'00, 900'00);
    adjustment(index, "penalty", delta, "late lodgement penalty");
    o.balance += delta;
  }

  // --- stray payments: nobody owes them ---------------------------------------------

  struct StrayReturn {
    std::int32_t day;
    std::uint64_t account;
    std::uint64_t payment;
  };

  void strays() {
    Rng& rng = strays_rng_;
    current_ = kNoAccount;
    const std::uint64_t expected_per_day_x1000 = std::max<std::uint64_t>(1, options_.accounts * 1000 / 2500);
    std::uint64_t count = expected_per_day_x1000 / 1000;
    if (rng.below(1000) < expected_per_day_x1000 % 1000) ++count;
    for (std::uint64_t n = 0; n < count; ++n) {
      const std::uint64_t account = stray_accounts_ > 0 && rng.percent(15) ? 1 + rng.below(stray_accounts_) : ++stray_accounts_;
      const std::uint64_t payment = ++stray_payments_;
      stray_payment(account, payment, rng.between(5'00, 2'000'00));
      if (rng.percent(8)) stray_returns_.push_back(StrayReturn{today_ + rng.days(1, 4), account, payment});
    }
    std::vector<StrayReturn> waiting;
    for (const StrayReturn& r : stray_returns_) {
      if (r.day != today_) {
        waiting.push_back(r);
        continue;
      }
      open(LineType::payment_returned);
      stray_account_field(r.account);
      id_field("payment_id", 'S', r.payment);
      date_field("return_date", today_);
      text_field("reason_code", "R03");
      close(LineType::payment_returned);
    }
    stray_returns_ = std::move(waiting);
  }

  void stray_account_field(std::uint64_t account) {
    put(R"(,"account_id":"X)");
    put_uint(buffer_, account, 7);
    put("\"");
  }

  void stray_payment(std::uint64_t account, std::uint64_t payment, std::int64_t amount) {
    open(LineType::payment);
    stray_account_field(account);
    id_field("payment_id", 'S', payment);
    money_field("amount", amount);
    date_field("received_date", today_);
    text_field("method", "eft");
    close(LineType::payment);
  }

  // --- bad lines ----------------------------------------------------------------------

  // A line paydist must reject, whatever the state (contract 5, 6): it never reuses an
  // accepted event_id (that would be a silent redelivery), and never names an id that a
  // good line could have created.
  void bad_line() {
    Rng& rng = bad_rng_;
    auto kind = static_cast<BadKind>(rng.below(kBadKinds));
    const Account* account = current_ == kNoAccount ? nullptr : &accounts_[current_];
    const std::string acc = account ? fmt::format("A{:07}", current_ + 1) : fmt::format("A{:07}", 1 + rng.below(std::max<std::uint64_t>(1, options_.accounts)));
    if ((kind == BadKind::repeated_return && !last_returned_) ||
        (kind == BadKind::repeated_payment_id && (!account || account->payments == 0)))
      kind = BadKind::unknown_payment_return;
    const std::string event = fmt::format("b{}", ++bad_events_);
    const std::string date(dates_.text(today_));
    const std::string payment = fmt::format(
        R"({{"type":"payment","event_id":"{}","account_id":"{}","payment_id":"B{}","amount":"{}","received_date":"{}","method":"bpay"}})",
        event, acc, bad_events_, money_text(rng.between(1'00, 500'00)), date);
    std::string line;
    switch (kind) {
      case BadKind::truncated_json:
        line = payment.substr(0, 12 + rng.below(payment.size() - 14));
        break;
      case BadKind::not_json:
        line = fmt::format("payment,{},B{},{},{}", acc, bad_events_, money_text(rng.between(1'00, 500'00)), date);
        break;
      case BadKind::missing_field: {
        static constexpr std::string_view kFields[] = {R"("amount":)", R"("received_date":)", R"("method":)", R"("payment_id":)"};
        const std::string_view field = rng.pick(kFields);
        const std::size_t at = payment.find(field);
        const std::size_t end = payment.find(',', at);
        line = payment.substr(0, at) + payment.substr(end == std::string::npos ? payment.size() - 1 : end + 1);
        if (line.ends_with(",}")) line.erase(line.size() - 2, 1);
        break;
      }
      case BadKind::bad_money: {
        static constexpr std::string_view kMoney[] = {R"("12.345")", R"("1,250.00")", R"("1e3")",   R"("+40.00")",
                                                      R"(" 40.00")", R"("40.00 AUD")", R"("-40.00")", R"("0.00")",
                                                      R"("12345678901234.00")", R"(40.5)", R"("")", R"(".50")",
                                                      R"("40.")",    R"(null)"};
        line = replace_value(payment, "amount", rng.pick(kMoney));
        break;
      }
      case BadKind::bad_date: {
        static constexpr std::string_view kDates[] = {R"("2026-02-30")", R"("2026-13-01")", R"("2026-1-5")",
                                                      R"("05/01/2026")", R"("2026-00-10")", R"("2026-04-31")"};
        line = replace_value(payment, "received_date", rng.pick(kDates));
        break;
      }
      case BadKind::unknown_account_return:
        line = fmt::format(
            R"({{"type":"payment_returned","event_id":"{}","account_id":"Z{:07}","payment_id":"P1","return_date":"{}","reason_code":"R03"}})",
            event, 1 + rng.below(1'000'000), date);
        break;
      case BadKind::unknown_payment_return:
        line = return_line(event, acc, fmt::format("B{}", bad_events_), date);
        break;
      case BadKind::repeated_return:
        line = return_line(event, fmt::format("A{:07}", last_returned_->account + 1),
                           fmt::format("P{}", last_returned_->payment), date);
        break;
      case BadKind::unknown_type:
        line = replace_value(payment, "type", R"("payment_reversal")");
        break;
      case BadKind::wrong_currency: {
        static constexpr std::string_view kCurrencies[] = {"USD", "NZD", "aud", "EUR"};
        line = payment.substr(0, payment.size() - 1) + fmt::format(R"(,"currency":"{}"}})", rng.pick(kCurrencies));
        break;
      }
      case BadKind::bad_id: {
        static constexpr std::string_view kIds[] = {R"("A 0000001")", R"("A0000001#")", R"("")", R"(17)"};
        const std::string too_long = fmt::format("\"A{}\"", std::string(64, '7'));  // ids are 1 to 64 characters
        line = replace_value(payment, "account_id", rng.percent(20) ? std::string_view(too_long) : rng.pick(kIds));
        break;
      }
      case BadKind::missing_event_id:
        line = rng.percent(50) ? replace_value(payment, "event_id", R"("")")
                               : R"({"type":"payment",)" + payment.substr(payment.find(R"("account_id")"));
        break;
      case BadKind::repeated_key:
        line = payment.substr(0, payment.size() - 1) + R"(,"method":"card"})";
        break;
      case BadKind::adjustment_below_zero:
        line = fmt::format(
            R"({{"type":"obligation_adjusted","event_id":"{}","account_id":"{}","obligation_id":"O1","amounts":{{"interest":"-99999999.00"}},"reason":"reversal"}})",
            event, acc);
        break;
      case BadKind::unknown_obligation:
        line = payment.substr(0, payment.size() - 1) + R"(,"obligation_id":"O99"})";
        break;
      case BadKind::older_business_date:
        line = fmt::format(R"({{"type":"business_date","event_id":"{}","date":"{}"}})", event,
                           dates_.text(today_ - rng.days(1, 30)));
        break;
      case BadKind::bad_arrangement: {
        static constexpr std::string_view kBodies[] = {
            R"("kind":"cash","covered_obligations":["O1"],"schedule":[{"due_date":"2026-12-01","amount":"10.00"}],"recommend":{"rule":"equal_instalments","count":2,"frequency":"weekly","first_due_date":"2026-12-01"})",
            R"("kind":"cash","covered_obligations":["O1"],"settlement_amount":"10.00","schedule":[{"due_date":"2026-12-01","amount":"10.00"}])",
            R"("kind":"weekly","covered_obligations":["O1"],"schedule":[{"due_date":"2026-12-01","amount":"10.00"}])",
            R"("kind":"cash","covered_obligations":[],"schedule":[{"due_date":"2026-12-01","amount":"10.00"}])",
            R"("kind":"cash","covered_obligations":["O1"],"schedule":[{"due_date":"2026-12-08","amount":"10.00"},{"due_date":"2026-12-01","amount":"10.00"}])",
            R"("kind":"direct_debit","covered_obligations":["O1"],"recommend":{"rule":"equal_instalments","count":0,"frequency":"weekly","first_due_date":"2026-12-01"})",
            R"("kind":"discount","covered_obligations":["O1"],"schedule":[{"due_date":"2026-12-01","amount":"10.00"}])"};
        line = fmt::format(R"({{"type":"arrangement_created","event_id":"{}","account_id":"{}","arrangement_id":"R99",{}}})",
                           event, acc, rng.pick(kBodies));
        break;
      }
      case BadKind::unknown_arrangement: {
        static constexpr std::string_view kTypes[] = {"arrangement_activated", "arrangement_cancelled",
                                                      "arrangement_review", "instalment_skipped"};
        const std::string_view type = rng.pick(kTypes);
        std::string extra;
        if (type == "arrangement_review") extra = R"(,"requested_by":"customer")";
        if (type == "instalment_skipped") extra = fmt::format(R"(,"due_date":"{}")", date);
        line = fmt::format(R"({{"type":"{}","event_id":"{}","account_id":"{}","arrangement_id":"R99"{}}})", type, event,
                           acc, extra);
        break;
      }
      case BadKind::repeated_payment_id:
        line = replace_value(payment, "payment_id", fmt::format("\"P{}\"", 1 + rng.below(account->payments)));
        break;
    }
    put(line);
    put("\n");
    ++summary_.lines;
    ++summary_.bad_lines;
    ++summary_.bad_by_kind[static_cast<std::size_t>(kind)];
    if (options_.record_bad_lines) summary_.bad_line_numbers.push_back(summary_.lines);
  }

  static std::string return_line(const std::string& event, const std::string& account, const std::string& payment,
                                 const std::string& date) {
    return fmt::format(
        R"({{"type":"payment_returned","event_id":"{}","account_id":"{}","payment_id":"{}","return_date":"{}","reason_code":"R01"}})",
        event, account, payment, date);
  }

  // The line with the value of "key" (a string value, or any JSON text) replaced.
  static std::string replace_value(const std::string& line, std::string_view key, std::string_view value) {
    const std::string quoted = fmt::format("\"{}\":", key);
    const std::size_t start = line.find(quoted);
    GENERATE_INVARIANT(start != std::string::npos && line[start + quoted.size()] == '"');
    const std::size_t value_start = start + quoted.size();
    const std::size_t value_end = line.find('"', value_start + 1) + 1;
    return line.substr(0, value_start) + std::string(value) + line.substr(value_end);
  }

  static constexpr std::uint32_t kNoAccount = UINT32_MAX;

  const GenerateOptions& options_;
  LineSink& sink_;
  GenerateSummary& summary_;
  const GenerateProgress& on_day_;
  DateTable dates_;
  std::vector<Account> accounts_;
  std::vector<std::vector<std::uint32_t>> buckets_;  // day index -> accounts with a task that day
  Rng strays_rng_;
  Rng bad_rng_;
  Rng redelivery_rng_;
  std::uint64_t bad_threshold_;
  std::size_t line_start_ = 0;  // where the line being written starts in buffer_
  fmt::memory_buffer buffer_;
  bool ok_ = true;
  std::int32_t today_ = 0;
  std::int32_t day_index_ = 0;
  std::uint32_t current_ = kNoAccount;  // the account being visited (for bad lines)
  std::uint64_t events_ = 0;
  std::uint64_t bad_events_ = 0;
  std::uint64_t stray_accounts_ = 0;
  std::uint64_t stray_payments_ = 0;
  std::vector<StrayReturn> stray_returns_;
  std::vector<AppliedLine> last_lines_;  // of the last payment, for plan_return
  struct ReturnedPayment {
    std::uint32_t account;
    std::uint32_t payment;
  };
  std::optional<ReturnedPayment> last_returned_;  // for a bad line that returns it again
};

}  // namespace

const char* to_string(LineType type) {
  static constexpr const char* kNames[kLineTypes] = {
      "obligation_assessed", "obligation_adjusted",   "arrangement_created", "arrangement_activated",
      "arrangement_updated", "instalment_skipped",    "arrangement_review",  "arrangement_cancelled",
      "payment",             "payment_returned",      "business_date"};
  return kNames[static_cast<std::size_t>(type)];
}

const char* to_string(BadKind kind) {
  static constexpr const char* kNames[kBadKinds] = {
      "truncated_json",       "not_json",          "missing_field",  "bad_money",
      "bad_date",             "unknown_account_return", "unknown_payment_return", "repeated_return",
      "unknown_type",         "wrong_currency",    "bad_id",         "missing_event_id",
      "repeated_key",         "adjustment_below_zero", "unknown_obligation", "older_business_date",
      "bad_arrangement",      "unknown_arrangement", "repeated_payment_id"};
  return kNames[static_cast<std::size_t>(kind)];
}

bool generate_events(const GenerateOptions& options, LineSink& sink, GenerateSummary& summary,
                     const GenerateProgress& on_day) {
  GENERATE_INVARIANT(options.accounts <= kGenerateAccountsMax);
  GENERATE_INVARIANT(options.days <= kGenerateDaysMax);
  GENERATE_INVARIANT(options.bad_permille <= kBadPermilleMax);
  GENERATE_INVARIANT(parse_generate_date("1000-01-01") <= options.start_day &&
                     options.start_day <= parse_generate_date("8999-12-31"));
  summary = GenerateSummary{};
  Generator generator{options, sink, summary, on_day};
  return generator.run();
}

std::optional<std::int32_t> parse_generate_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t from, std::size_t count) -> std::optional<unsigned> {
    unsigned value = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return value;
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  if (!year || !month || !day || *year < 1000 || *year > 8999 || *month < 1 || *month > 12 || *day < 1 ||
      *day > days_in_month(static_cast<int>(*year), *month))
    return std::nullopt;
  return days_from_civil(static_cast<int>(*year), *month, *day);
}

}  // namespace paydist
