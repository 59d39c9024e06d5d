// daemon/generate_command.h: the `paydist generate` subcommand (issue 5): its arguments, the
// output file or stdout, a progress line when stderr is a terminal, a summary on stderr.
// Wiring only: the stream itself is daemon/generate.h.
//   GenerateCommand generate_command{app};                // before app.parse()
//   if (std::optional<int> rc = generate_command.run_parsed()) return *rc;
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "daemon/generate.h"

namespace paydist {

class GenerateCommand {
 public:
  explicit GenerateCommand(CLI::App& app);
  // The exit status if the user named `generate`, else nullopt.
  std::optional<int> run_parsed();

 private:
  int run();

  CLI::App* command_ = nullptr;
  GenerateOptions options_;
  std::string out_path_;  // empty or "-": stdout
  std::string start_date_ = "2026-01-01";
};

}  // namespace paydist
