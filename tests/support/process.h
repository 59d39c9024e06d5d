// tests/support/process.h: real child processes for integration tests (style: "integration
// tests start real processes on loopback, with bounded waits, and clean up after
// themselves"). A Child is killed (SIGKILL) and reaped when it goes out of scope.
//   Child broker = Child::spawn({kBinary, "broker", "--brokers-file", file}, dir / "broker");
//   int status = broker.stop(SIGTERM, 5s);   // exit status, or -signal
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace paydist::testing {

// Reads a whole file ("" when it does not exist).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class Child {
 public:
  // Starts argv[0] with stdin from /dev/null and stdout/stderr to `log_stem`.out / .err,
  // in this process's environment plus `extra_env` ("NAME=value" each).
  static Child spawn(const std::vector<std::string>& args, const std::filesystem::path& log_stem,
                     const std::vector<std::string>& extra_env = {}) {
    Child child;
    child.out_path_ = log_stem.string() + ".out";
    child.err_path_ = log_stem.string() + ".err";
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, child.out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, child.err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    for (const std::string& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const int error = posix_spawn(&child.pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw std::runtime_error("cannot start " + args[0]);
    return child;
  }

  Child() = default;
  Child(Child&& other) noexcept { *this = std::move(other); }
  Child& operator=(Child&& other) noexcept {
    std::swap(pid_, other.pid_);
    std::swap(status_, other.status_);
    out_path_ = std::move(other.out_path_);
    err_path_ = std::move(other.err_path_);
    return *this;
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int raw = 0;
      ::waitpid(pid_, &raw, 0);
    }
  }

  pid_t pid() const { return pid_; }
  // Never with pid <= 0: kill(-1, ...) would signal every process the user owns.
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // The exit status (or -signal number) once the child ended within `timeout`, else nullopt.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    if (status_ || pid_ <= 0) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int raw = 0;
      const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -WTERMSIG(raw);
        return status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  // Sends `sig` and waits; SIGKILL if it is still running after `timeout` (then nullopt).
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return status_;  // never started
    if (!status_) signal(sig);
    std::optional<int> s = wait_for(timeout);
    if (!s) {
      signal(SIGKILL);
      wait_for(std::chrono::seconds{5});
    }
    return s;
  }

  std::string out() const { return read_text(out_path_); }
  std::string err() const { return read_text(err_path_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

// Runs a command to its end (at most `timeout`); returns its status and output.
struct Finished {
  std::optional<int> status;  // nullopt: killed after the timeout
  std::string out;
  std::string err;
};

inline Finished run_to_end(const std::vector<std::string>& args, const std::filesystem::path& log_stem,
                           std::chrono::milliseconds timeout) {
  Child child = Child::spawn(args, log_stem);
  Finished f;
  f.status = child.wait_for(timeout);
  if (!f.status) child.stop(SIGKILL, std::chrono::seconds{5});
  f.out = child.out();
  f.err = child.err();
  return f;
}

// A new directory under the system's temporary directory, named after `stem`.
inline std::filesystem::path make_temp_dir(const std::string& stem) {
  std::string pattern = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

// A new temporary directory (make_temp_dir), removed with everything in it at scope end.
class TempDir {
 public:
  explicit TempDir(const std::string& stem) : path_(make_temp_dir(stem)) {}
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Waits until `path` exists and is not empty (at most `timeout`).
inline bool wait_for_file(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) > 0 && !ec) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

// `paydist broker` (at `binary`) with `partitions` per topic, its address file in `dir`.
struct Broker {
  Child process;
  std::string bootstrap;  // empty: it did not start (its stderr says why)
};

inline Broker start_broker(const std::string& binary, int partitions, const std::filesystem::path& dir,
                           const std::vector<std::string>& extra_topics = {}) {
  Broker b;
  std::vector<std::string> argv = {binary, "broker", "--partitions", std::to_string(partitions), "--brokers-file",
                                   (dir / "brokers").string()};
  for (const std::string& topic : extra_topics) {
    argv.push_back("--topic");
    argv.push_back(topic);
  }
  b.process = Child::spawn(argv, dir / "broker");
  if (wait_for_file(dir / "brokers", std::chrono::seconds{10})) b.bootstrap = split_lines(read_text(dir / "brokers")).at(0);
  return b;
}

}  // namespace paydist::testing
