// daemon/state_commands.h: the integrity tools of the `paydist` command line: `verify` (every
// invariant over a whole state), `backup` (a compacted copy while a writer runs) and `restore`
// (a backup into an empty directory, checked). Wiring only: the walk is
// connectors/state_verify.h, the files connectors/state_backup.h.
//   StateCommands state_commands{app};                     // before app.parse()
//   if (std::optional<int> rc = state_commands.run_parsed()) return *rc;
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace paydist {

class StateCommands {
 public:
  explicit StateCommands(CLI::App& app);
  // The exit status if the user named one of these subcommands, else nullopt.
  std::optional<int> run_parsed();

 private:
  int run_verify();
  int run_backup();
  int run_restore();

  CLI::App* verify_ = nullptr;
  CLI::App* backup_ = nullptr;
  CLI::App* restore_ = nullptr;
  std::string state_dir_;
  std::string config_path_;
  std::string file_;  // backup --to, restore --from
  std::size_t violations_max_ = 100;
};

}  // namespace paydist
