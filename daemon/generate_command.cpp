// daemon/generate_command.cpp: `paydist generate --seed N --accounts A --days D [--out FILE]
// [--start-date YYYY-MM-DD] [--bad-share PERMILLE]`. Parses and checks the arguments (a bad
// one is a usage error, exit 2), writes the stream with large write(2) calls (no per-line
// flush), shows progress only on a terminal. Holds no business rule.
#include "daemon/generate_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

#include <fmt/format.h>

namespace paydist {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
// Progress on a terminal is redrawn at most this often.
constexpr auto kProgressInterval = std::chrono::milliseconds{250};

// All of `bytes` to fd: 0, or the errno of the failure.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// Writes on a thread of its own, so that the generator makes the next chunk while the last
// one goes through write(2): one chunk waiting at most (bounded memory). Measured on 10M
// lines to a file: 15.8 s with the writes on the generating thread.
class BackgroundFdSink final : public LineSink {
 public:
  explicit BackgroundFdSink(int fd) : fd_(fd), writer_([this] { drain(); }) {}
  ~BackgroundFdSink() override { finish(); }
  BackgroundFdSink(const BackgroundFdSink&) = delete;
  BackgroundFdSink& operator=(const BackgroundFdSink&) = delete;

  bool write(std::string_view bytes) override {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [this] { return !full_ || error_ != 0; });
    if (error_ != 0) return false;
    pending_.assign(bytes.data(), bytes.size());
    full_ = true;
    ready_.notify_one();
    return true;
  }

  // Waits until everything handed over is written. 0, or the errno of the first failure.
  int finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_one();
    if (writer_.joinable()) writer_.join();
    return error_;
  }

 private:
  void drain() {
    std::string writing;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return full_ || done_; });
        if (!full_) return;  // done, nothing left
        writing.swap(pending_);
        full_ = false;
      }
      room_.notify_one();
      if (const int error = write_all(fd_, writing); error != 0) {
        {
          std::lock_guard lock(mutex_);
          error_ = error;
        }
        room_.notify_one();
        return;
      }
    }
  }

  int fd_;
  std::mutex mutex_;
  std::condition_variable ready_;  // a chunk is waiting, or done_
  std::condition_variable room_;   // the waiting chunk was taken, or an error
  std::string pending_;
  bool full_ = false;
  bool done_ = false;
  int error_ = 0;
  std::thread writer_;  // last: starts once the members above exist
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double per_second(std::uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : static_cast<double>(count);
}

std::string line_mix(const GenerateSummary& s) {
  std::string text = "generate: mix";
  for (std::size_t i = 0; i < kLineTypes; ++i)
    fmt::format_to(std::back_inserter(text), " {}={}", to_string(static_cast<LineType>(i)), s.good_by_type[i]);
  fmt::format_to(std::back_inserter(text), " repeated={} bad={}", s.redeliveries, s.bad_lines);
  return text;
}

}  // namespace

GenerateCommand::GenerateCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "generate", "Write a seeded, realistic input stream (JSON lines) for demos, tests and benchmarks");
  command_->add_option("--seed", options_.seed, "Random seed: the same seed and options give the same bytes")
      ->required();
  command_->add_option("--accounts", options_.accounts, "Accounts with debts")
      ->required()
      ->check(CLI::Range(std::uint64_t{1}, kGenerateAccountsMax));
  command_->add_option("--days", options_.days, "Simulated days: one business_date line each, in date order")
      ->required()
      ->check(CLI::Range(std::uint32_t{1}, kGenerateDaysMax));
  command_->add_option("--out", out_path_, "Output file, replaced (default: stdout)");
  command_->add_option("--start-date", start_date_, "The first business date (default 2026-01-01)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_generate_date(text) ? "" : "expected a date YYYY-MM-DD from 1000-01-01 to 8999-12-31";
          },
          "YYYY-MM-DD"));
  command_->add_option("--bad-share", options_.bad_permille,
                       "Lines paydist must reject, per thousand lines (default 3, at most 500)")
      ->check(CLI::Range(std::uint32_t{0}, kBadPermilleMax));
}

std::optional<int> GenerateCommand::run_parsed() {
  if (!command_->parsed()) return std::nullopt;
  return run();
}

int GenerateCommand::run() {
  options_.start_day = *parse_generate_date(start_date_);  // checked by the option's validator
  const bool to_stdout = out_path_.empty() || out_path_ == "-";
  const int fd = to_stdout ? STDOUT_FILENO : ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fmt::print(stderr, "paydist: cannot write {}: {}\n", out_path_, std::strerror(errno));
    return kExitFailed;
  }
  const std::string shown = to_stdout ? "stdout" : out_path_;

  const bool progress = ::isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto last_drawn = start;
  bool drawn = false;
  auto on_day = [&](const GenerateSummary& s) {
    if (!progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_drawn < kProgressInterval) return;
    last_drawn = now;
    drawn = true;
    fmt::print(stderr, "\rgenerate: day {}/{} lines={} lines_per_s={:.0f}   ", s.days_done, options_.days, s.lines,
               per_second(s.lines, seconds_since(start)));
    std::fflush(stderr);
  };

  GenerateSummary summary;
  bool ok = true;
  int error = 0;
  {
    BackgroundFdSink sink{fd};
    ok = generate_events(options_, sink, summary, on_day);
    error = sink.finish();
    ok = ok && error == 0;
  }
  if (!to_stdout && ::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (drawn) fmt::print(stderr, "\r\033[K");
  const double seconds = seconds_since(start);
  fmt::print(stderr, "generate: lines={} bad={} repeated={} days={} accounts={} seconds={:.2f} lines_per_s={:.0f}\n",
             summary.lines, summary.bad_lines, summary.redeliveries, summary.days_done, options_.accounts, seconds,
             per_second(summary.lines, seconds));
  fmt::print(stderr, "{}\n", line_mix(summary));
  if (!ok) {
    fmt::print(stderr, "paydist: writing {} failed: {}\n", shown, std::strerror(error));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace paydist
