// connectors/fault_point.cpp: the fault points' trigger (see fault_point.h). Test builds only:
// the environment is read once, the only global state a connector keeps.
#include "connectors/fault_point.h"

#ifdef PAYDIST_FAULT_INJECTION
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <chrono>

namespace paydist {
namespace {

struct Armed {
  std::string name;      // empty: no fault armed
  std::uint64_t pass = 1;
  std::uint64_t stall_ms = 0;  // PAYDIST_FAULT_STALL_MS: stall the calling thread, not SIGKILL
  std::atomic<std::uint64_t> passes{0};
};

Armed& armed() {
  static Armed* const instance = [] {
    auto* a = new Armed;
    const char* spec = std::getenv("PAYDIST_FAULT");
    if (spec == nullptr || *spec == '\0') return a;
    std::string_view text{spec};
    // NAME:N when what follows the last ':' is a number; names have ':' of their own.
    if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
      std::uint64_t n = 0;
      const std::string_view digits = text.substr(colon + 1);
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (error == std::errc{} && end == digits.data() + digits.size() && n > 0) {
        a->pass = n;
        text = text.substr(0, colon);
      }
    }
    a->name = std::string{text};
    if (const char* stall = std::getenv("PAYDIST_FAULT_STALL_MS"); stall != nullptr)
      std::from_chars(stall, stall + std::char_traits<char>::length(stall), a->stall_ms);
    return a;
  }();
  return *instance;
}

}  // namespace

void fault_point(std::string_view name) {
  Armed& a = armed();
  if (a.name.empty() || name != a.name) return;
  if (a.passes.fetch_add(1) + 1 != a.pass) return;
  if (a.stall_ms > 0) {
    const std::string line = "paydist fault point " + a.name + ": stalling " + std::to_string(a.stall_ms) +
                             " ms at pass " + std::to_string(a.pass) + "\n";
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    std::this_thread::sleep_for(std::chrono::milliseconds{a.stall_ms});
    return;
  }
  const std::string line = "paydist fault point " + a.name + ": SIGKILL at pass " + std::to_string(a.pass) + "\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  ::kill(::getpid(), SIGKILL);
  ::pause();  // SIGKILL cannot be caught: never returns
}

}  // namespace paydist
#endif
