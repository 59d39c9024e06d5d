// daemon/paydist_main.cpp: the `paydist` command line (contract 5): `replay` feeds files
// through the file connector, `inspect` prints one account, `explain` its audit history;
// the other subcommands live in kafka_tools, generate_command and state_commands.
// Wiring only: parses arguments,
// loads the configuration, opens the store, maps failures to exit statuses (0 success,
// 1 the operation failed, 2 usage or configuration error). Holds no business rule.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config.h"
#include "connectors/codec.h"
#include "connectors/file_replay.h"
#include "connectors/state_store.h"
#include "daemon/generate_command.h"
#include "daemon/kafka_tools.h"
#include "daemon/state_commands.h"

#ifndef PAYDIST_VERSION
#define PAYDIST_VERSION "unknown"
#endif

namespace paydist {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Progress on a terminal is redrawn at most this often.
constexpr auto kProgressInterval = std::chrono::milliseconds{250};

struct ReplayArgs {
  std::string state_dir;
  std::string out_dir;
  std::string config_path;
  std::vector<std::string> files;
  std::size_t batch_lines_max = ReplayOptions{}.batch_lines_max;
  std::uint32_t batch_interval_ms = ReplayOptions{}.batch_interval_ms;
  std::size_t batch_memory_mb = ReplayOptions{}.batch_pages_max / 256;
};

struct InspectArgs {
  std::string state_dir;
  std::string config_path;
  std::string account_id;
};

struct ExplainArgs {
  std::string state_dir;
  std::string account_id;
};

// Operator logs go to stderr; stdout is reserved for outputs (inspect's JSON).
void setup_logging() {
  auto logger = spdlog::stderr_color_mt("paydist");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
}

// Loads --config, or the defaults without one. nullopt: already reported.
std::optional<Config> load(const std::string& config_path) {
  if (config_path.empty()) return Config{};
  Result<Config> config = load_config(config_path);
  if (!config) {
    fmt::print(stderr, "paydist: {}\n", config.error());
    return std::nullopt;
  }
  return *config;
}

std::optional<Rules> load_rules(const std::string& config_path) {
  std::optional<Config> config = load(config_path);
  if (!config) return std::nullopt;
  return config->rules;
}

// Opens an existing state to read it; nullptr: already reported (exit 1).
std::unique_ptr<StateStore> open_to_read(const std::string& state_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(state_dir, ec)) {
    fmt::print(stderr, "paydist: no state at {}\n", state_dir);
    return nullptr;
  }
  StoreOptions options;
  options.access = StoreOptions::Access::read_only;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(state_dir, options);
  if (!store) {
    fmt::print(stderr, "paydist: state {}: {}\n", state_dir, store.error());
    return nullptr;
  }
  return std::move(*store);
}

bool write_stdout(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    fmt::print(stderr, "paydist: writing to stdout failed: {}\n", std::strerror(errno));
    return false;
  }
  return true;
}

double per_second(std::uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : static_cast<double>(count);
}

// Rewrites one stderr line with \r, no more than a few times a second.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  void show(const ReplaySummary& s) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < kProgressInterval) return;
    last_ = now;
    fmt::print(stderr, "\rreplay: lines={} lines_per_s={:.0f}   ", s.lines, per_second(s.lines, s.seconds));
    std::fflush(stderr);
    drawn_ = true;
  }
  void clear() {
    if (!drawn_) return;
    fmt::print(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

int run_replay(const ReplayArgs& args) {
  const std::optional<Config> config = load(args.config_path);
  if (!config) return kExitUsage;
  const Rules& rules = config->rules;

  StoreOptions store_options;
  store_options.history_entries_per_account = config->history.entries_per_account;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(args.state_dir, store_options);
  if (!store) {
    // One read-write process per state (the store locks it): two replays would both
    // drain the same outbox into their files.
    fmt::print(stderr, "paydist: state {}: {}\n", args.state_dir, store.error());
    return kExitFailed;
  }

  ProgressLine progress{::isatty(STDERR_FILENO) == 1};
  ReplayOptions options;
  options.out_dir = args.out_dir;
  options.batch_lines_max = args.batch_lines_max;
  options.batch_interval_ms = args.batch_interval_ms;
  options.batch_pages_max = args.batch_memory_mb * 256;  // 4 KiB pages
  options.on_progress = [&progress](const ReplaySummary& s) { progress.show(s); };
  options.on_notice = [&progress](NoticeLevel level, std::string_view text) {
    progress.clear();
    spdlog::log(level == NoticeLevel::warning ? spdlog::level::warn : spdlog::level::info, "{}", text);
  };
  FileReplay replay{**store, rules, std::move(options)};

  Status status = replay.open();
  for (std::size_t i = 0; status && i < args.files.size(); ++i) status = replay.replay_file(args.files[i]);

  progress.clear();
  const ReplaySummary& s = replay.summary();
  fmt::print(stderr, "replay: lines={} accepted={} rejected={} duplicates={} blank={} seconds={:.2f} lines_per_s={:.0f}\n",
             s.lines, s.accepted, s.rejected, s.duplicates, s.blank, s.seconds, per_second(s.lines, s.seconds));
  if (!status) {
    fmt::print(stderr, "paydist: replay failed: {}\n", status.error());
    return kExitFailed;
  }
  return kExitOk;
}

// The account a read command names, from the state it names.
struct NamedAccount {
  std::unique_ptr<StateStore> store;
  Account account;
};

// Parses the id, opens the state and reads the account into `out`: kExitOk, or (reported)
// kExitUsage for a bad id, kExitFailed for no state or no such account.
int read_named_account(const std::string& state_dir, const std::string& id_text, NamedAccount& out) {
  Result<AccountId> id = AccountId::parse(id_text);
  if (!id) {
    fmt::print(stderr, "paydist: {}\n", id.error());
    return kExitUsage;
  }
  std::unique_ptr<StateStore> store = open_to_read(state_dir);
  if (!store) return kExitFailed;
  std::optional<Account> account = store->read_account(*id);
  if (!account) {
    fmt::print(stderr, "paydist: unknown account {} in state {}\n", *id, state_dir);
    return kExitFailed;
  }
  out = NamedAccount{std::move(store), std::move(*account)};
  return kExitOk;
}

int run_inspect(const InspectArgs& args) {
  const std::optional<Rules> rules = load_rules(args.config_path);
  if (!rules) return kExitUsage;
  NamedAccount named;
  if (int status = read_named_account(args.state_dir, args.account_id, named); status != kExitOk) return status;
  // The business date of the account's own timeline (the daemon's: its input partition).
  const std::optional<TimelineState> timeline = named.store->read_timeline(TimelineId{named.account.timeline});
  const std::optional<Date> business_date = timeline ? timeline->business_date : std::nullopt;
  return write_stdout(inspect_json(named.account, business_date, *rules) + "\n") ? kExitOk : kExitFailed;
}

// Every account, one JSON object a line (as `inspect account` prints it), in account id
// order, from one read transaction: an export for auditors, and what tests compare whole
// states with.
int run_inspect_accounts(const InspectArgs& args) {
  const std::optional<Rules> rules = load_rules(args.config_path);
  if (!rules) return kExitUsage;
  std::unique_ptr<StateStore> store = open_to_read(args.state_dir);
  if (!store) return kExitFailed;
  std::map<std::uint32_t, std::optional<Date>> business_dates;  // per timeline
  std::string text;
  bool written = true;
  store->for_each_account([&](const Account& account) {
    auto [at, fresh] = business_dates.try_emplace(account.timeline);
    if (fresh) {
      const std::optional<TimelineState> timeline = store->read_timeline(TimelineId{account.timeline});
      if (timeline) at->second = timeline->business_date;
    }
    text += inspect_json(account, at->second, *rules);
    text += '\n';
    if (text.size() >= (1u << 20)) {
      written = written && write_stdout(text);
      text.clear();
    }
  });
  written = written && write_stdout(text);
  return written ? kExitOk : kExitFailed;
}

// The account's audit history as text for people: each kept entry, oldest first, numbered
// as the account's history counts them, with a heading saying what retention dropped.
int run_explain(const ExplainArgs& args) {
  NamedAccount named;
  if (int status = read_named_account(args.state_dir, args.account_id, named); status != kExitOk) return status;
  const Account& account = named.account;
  const std::vector<HistoryEntry> entries = named.store->read_history(account.id);
  std::string text;
  if (entries.empty()) {
    fmt::format_to(std::back_inserter(text),
                   "account {}: no history kept ({} entries written; [history] entries_per_account may be 0)\n",
                   account.id, account.history_entries);
  } else {
    fmt::format_to(std::back_inserter(text), "account {}: history entries {} to {} of {}", account.id,
                   entries.front().number + 1, entries.back().number + 1, account.history_entries);
    if (entries.front().number > 0)
      fmt::format_to(std::back_inserter(text), " (the {} older ones are past the retention of [history] entries_per_account)",
                     entries.front().number);
    text += "\n";
  }
  for (const HistoryEntry& entry : entries) {
    fmt::format_to(std::back_inserter(text), "\n#{} ", entry.number + 1);
    text += entry.text;
    if (!text.ends_with('\n')) text += '\n';
  }
  return write_stdout(text) ? kExitOk : kExitFailed;
}

// The deepest subcommand the user named, for the hint after a usage error.
std::string command_path(CLI::App& app) {
  std::string path = "paydist";
  for (CLI::App* sub = &app;;) {
    CLI::App* next = nullptr;
    for (CLI::App* candidate : sub->get_subcommands({}))
      if (candidate->parsed()) next = candidate;
    if (next == nullptr) return path;
    path += " " + next->get_name();
    sub = next;
  }
}

int run(int argc, char** argv) {
  CLI::App app{"paydist: exact payment distribution and arrangement monitoring (file replay and inspection)",
               "paydist"};
  app.set_version_flag("--version", "paydist " PAYDIST_VERSION);

  ReplayArgs replay_args;
  CLI::App* replay = app.add_subcommand("replay", "Replay JSONL input files into a state; append outputs to OUT");
  replay->add_option("--state", replay_args.state_dir, "State directory (created if needed)")->required();
  replay->add_option("--out", replay_args.out_dir, "Output directory: activities.jsonl, distributions.jsonl, rejects.jsonl")
      ->required();
  replay->add_option("--config", replay_args.config_path, "TOML configuration file (rules)")->check(CLI::ExistingFile);
  replay->add_option("--batch-lines", replay_args.batch_lines_max, "Lines per state transaction")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  replay->add_option("--batch-memory-mb", replay_args.batch_memory_mb,
                     "Bound on the state pages one transaction rewrites, in MiB (estimated; LMDB holds them in "
                     "memory until the commit)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  replay->add_option("--batch-ms", replay_args.batch_interval_ms, "Longest time one transaction stays open, in ms")
      ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{3'600'000}));
  replay->add_option("EVENTS", replay_args.files, "Input files, one JSON message per line")
      ->required()
      ->check(CLI::ExistingFile);

  InspectArgs inspect_args;
  CLI::App* inspect = app.add_subcommand("inspect", "Print what a state knows, as JSON on stdout");
  inspect->fallthrough();
  inspect->require_subcommand(1);
  inspect->add_option("--state", inspect_args.state_dir, "State directory")->required();
  inspect->add_option("--config", inspect_args.config_path, "TOML configuration file (rules)")->check(CLI::ExistingFile);
  CLI::App* account = inspect->add_subcommand("account", "One account: balances, arrangements, instalments");
  account->add_option("ACCOUNT_ID", inspect_args.account_id, "The account's id")->required();
  CLI::App* accounts = inspect->add_subcommand("accounts", "Every account, one JSON object a line, by account id");

  ExplainArgs explain_args;
  CLI::App* explain = app.add_subcommand("explain", "Print what happened to an account and why, for people");
  explain->fallthrough();
  explain->require_subcommand(1);
  explain->add_option("--state", explain_args.state_dir, "State directory")->required();
  CLI::App* explain_account =
      explain->add_subcommand("account", "Each kept history entry: what arrived, what it did, which rule fired");
  explain_account->add_option("ACCOUNT_ID", explain_args.account_id, "The account's id")->required();

  KafkaTools kafka_tools{app};
  GenerateCommand generate_command{app};
  StateCommands state_commands{app};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    const std::string path = command_path(app);
    fmt::print(stderr, "paydist: {}\nRun '{} --help' for usage.\n", e.what(), path);
    return kExitUsage;
  }

  if (replay->parsed()) {
    setup_logging();
    return run_replay(replay_args);
  }
  if (accounts->parsed()) return run_inspect_accounts(inspect_args);
  if (inspect->parsed()) return run_inspect(inspect_args);
  if (explain->parsed()) return run_explain(explain_args);
  if (std::optional<int> status = kafka_tools.run_parsed()) return *status;
  if (std::optional<int> status = generate_command.run_parsed()) return *status;
  if (std::optional<int> status = state_commands.run_parsed()) return *status;
  fmt::print(stderr, "{}", app.help());
  return kExitUsage;
}

}  // namespace
}  // namespace paydist

int main(int argc, char** argv) {
  try {
    return paydist::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paydist: %s\n", e.what());
    return 1;
  }
}
