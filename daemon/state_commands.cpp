// daemon/state_commands.cpp: `paydist verify`, `paydist backup` and `paydist restore`. Parses
// arguments, loads the rules, opens the state, prints the report and maps the outcome to an
// exit status (0 sound / done, 1 a violation or a failed operation, 2 usage or configuration
// error). Holds no business rule and no file format.
#include "daemon/state_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "config/config.h"
#include "connectors/state_backup.h"
#include "connectors/state_store.h"
#include "connectors/state_verify.h"

namespace paydist {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr std::size_t kViolationsMaxLimit = 1'000'000;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The rules of --config, or the defaults without one; nullopt: reported (a usage error).
std::optional<Rules> load_rules(const std::string& config_path) {
  if (config_path.empty()) return Rules{};
  Result<Config> config = load_config(config_path);
  if (!config) {
    fmt::print(stderr, "paydist: {}\n", config.error());
    return std::nullopt;
  }
  return config->rules;
}

// An existing state, opened read-only (safe next to a writer); nullptr: reported.
std::unique_ptr<StateStore> open_existing(const std::string& command, const std::string& state_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(state_dir, ec)) {
    fmt::print(stderr, "paydist {}: no state at {}\n", command, state_dir);
    return nullptr;
  }
  StoreOptions options;
  options.access = StoreOptions::Access::read_only;
  Result<std::unique_ptr<StateStore>> store = StateStore::open(state_dir, options);
  if (!store) {
    fmt::print(stderr, "paydist {}: state {}: {}\n", command, state_dir, store.error());
    return nullptr;
  }
  return std::move(*store);
}

std::string counts_text(const VerifyCounts& c) {
  return fmt::format(
      "accounts={} payments={} deadlines={} events={} history_entries={} outbox_entries={} timelines={} "
      "file_positions={} output_files={} input_offsets={}",
      c.accounts, c.payments, c.deadlines, c.events, c.history_entries, c.outbox_entries, c.timelines,
      c.file_positions, c.output_files, c.input_offsets);
}

// Verifies `state_dir`: the violations on stdout, one a line, and one summary line on stderr
// starting with `label`. True when the state is sound.
bool verify_and_report(const std::string& label, const std::string& state_dir, const Rules& rules,
                       std::size_t violations_max) {
  const Clock::time_point start = Clock::now();
  std::unique_ptr<StateStore> store = open_existing(label, state_dir);
  if (!store) return false;
  const VerifyReport report = verify_state(*store, rules, VerifyLimits{violations_max});
  for (const std::string& line : report.violations) fmt::print("{}\n", line);
  std::fflush(stdout);
  if (report.ok()) {
    fmt::print(stderr, "{}: ok {} seconds={:.2f}\n", label, counts_text(report.checked), seconds_since(start));
  } else {
    fmt::print(stderr, "{}: FAILED violations={} listed={} {} seconds={:.2f}\n", label, report.violations_total,
               report.violations.size(), counts_text(report.checked), seconds_since(start));
  }
  return report.ok();
}

}  // namespace

StateCommands::StateCommands(CLI::App& app) {
  verify_ = app.add_subcommand("verify", "Check every invariant of a state (safe while it is written); exit 1 on a violation");
  verify_->add_option("--state", state_dir_, "State directory")->required();
  verify_->add_option("--config", config_path_, "TOML configuration file: the rules the state was written with")
      ->check(CLI::ExistingFile);
  verify_->add_option("--max-violations", violations_max_, "Violations listed (all are counted)")
      ->check(CLI::Range(std::size_t{1}, kViolationsMaxLimit));

  backup_ = app.add_subcommand("backup", "Write a consistent, compacted copy of a state to one file (safe while it is written)");
  backup_->add_option("--state", state_dir_, "State directory")->required();
  backup_->add_option("--to", file_, "Backup file (written beside itself, then renamed; mode 0600)")->required();

  restore_ = app.add_subcommand("restore", "Put a backup into an empty state directory, give it a new state id, verify it");
  restore_->add_option("--from", file_, "Backup file written by paydist backup")->required()->check(CLI::ExistingFile);
  restore_->add_option("--state", state_dir_, "State directory: new or empty")->required();
  restore_->add_option("--config", config_path_, "TOML configuration file: the rules the state was written with")
      ->check(CLI::ExistingFile);
}

std::optional<int> StateCommands::run_parsed() {
  if (verify_->parsed()) return run_verify();
  if (backup_->parsed()) return run_backup();
  if (restore_->parsed()) return run_restore();
  return std::nullopt;
}

int StateCommands::run_verify() {
  const std::optional<Rules> rules = load_rules(config_path_);
  if (!rules) return kExitUsage;
  return verify_and_report("verify", state_dir_, *rules, violations_max_) ? kExitOk : kExitFailed;
}

int StateCommands::run_backup() {
  const Clock::time_point start = Clock::now();
  std::unique_ptr<StateStore> store = open_existing("backup", state_dir_);
  if (!store) return kExitFailed;
  Result<std::uint64_t> bytes = backup_state(*store, file_);
  if (!bytes) {
    fmt::print(stderr, "paydist backup: {}\n", bytes.error());
    return kExitFailed;
  }
  fmt::print(stderr, "backup: wrote {} bytes={} seconds={:.2f}\n", file_, *bytes, seconds_since(start));
  return kExitOk;
}

// Copy, check, then a new state id: the copy must not pass for the state it came from when it
// publishes (paydist-state header, docs/operations.md). A copy that fails is taken out again.
int StateCommands::run_restore() {
  const std::optional<Rules> rules = load_rules(config_path_);
  if (!rules) return kExitUsage;
  if (Status s = restore_into_empty_dir(file_, state_dir_); !s) {
    fmt::print(stderr, "paydist restore: {}\n", s.error());
    return kExitFailed;
  }
  // Read-only first: a file that is not a paydist state is refused, never initialized as one.
  if (!verify_and_report("restore: verify", state_dir_, *rules, violations_max_)) {
    discard_restored_state(state_dir_);
    fmt::print(stderr, "paydist restore: {} does not hold a sound paydist state; nothing restored in {}\n", file_,
               state_dir_);
    return kExitFailed;
  }
  std::string new_state_id, failure;
  {
    Result<std::unique_ptr<StateStore>> store = StateStore::open(state_dir_, StoreOptions{});
    Status renewed = store ? (*store)->replace_state_id() : Status{Error{store.error()}};
    if (renewed) new_state_id = (*store)->state_id();
    else failure = renewed.error();
  }  // closed before anything is removed
  if (!failure.empty()) {
    discard_restored_state(state_dir_);
    fmt::print(stderr, "paydist restore: {}; nothing restored in {}\n", failure, state_dir_);
    return kExitFailed;
  }
  fmt::print(stderr, "restore: {} -> {}/data.mdb, new state id {}\n", file_, state_dir_, new_state_id);
  return kExitOk;
}

}  // namespace paydist
