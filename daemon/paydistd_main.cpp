// daemon/paydistd_main.cpp: `paydistd --config FILE`, the service (issue 5). Wiring only:
// loads the configuration, starts the Service, and drives it from one Boost.Asio event loop
// with the HTTP endpoint, signals (SIGTERM/SIGINT: finish the batch, commit, flush, exit 0;
// SIGHUP: logs go to stderr, so nothing to reopen) and systemd notifications (READY,
// STATUS, WATCHDOG, STOPPING). Exit status: 0 stopped cleanly, 1 failed, 2 usage/config.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "config/config.h"
#include "daemon/http_server.h"
#include "daemon/service.h"

#ifndef PAYDIST_VERSION
#define PAYDIST_VERSION "unknown"
#endif

namespace paydist {
namespace {

namespace asio = boost::asio;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// One turn of the service polls input at most this long, so that HTTP and signals are
// served between turns.
constexpr auto kTurnBudget = std::chrono::milliseconds{50};
// SIGTERM must end the process within 5 s (issue 5): the commit, at most 1 s leaving the
// consumer group and the flush fit in the stop budget; past the budget the process exits
// without waiting for its Kafka clients (librdkafka's destroy waits for a broker that may
// not answer), which loses nothing once the state is committed.
// The budget counts from when the event loop sees the signal, which can be up to half a
// second late (a broker probe in a turn).
constexpr auto kShutdownFlushTimeout = std::chrono::milliseconds{2'000};
constexpr auto kStopBudget = std::chrono::milliseconds{4'000};

// What the stop guard (below) may need after the event loop's objects are gone.
std::atomic<bool> g_shutdown_done{false};
std::atomic<int> g_exit_status{kExitOk};

// From the stop signal on, the process has kStopBudget to end: this thread ends it then if
// it has not ended by itself (normally it has, and the thread dies with it).
void start_stop_guard() {
  std::thread([deadline = std::chrono::steady_clock::now() + kStopBudget] {
    std::this_thread::sleep_until(deadline);
    if (g_shutdown_done) {
      std::fprintf(stderr, "paydistd: the Kafka clients did not close within %lld ms (a broker that does not "
                           "answer): exiting without waiting for them; the state is committed\n",
                   static_cast<long long>(kStopBudget.count()));
      std::fflush(stderr);
      std::_Exit(g_exit_status);
    }
    std::fprintf(stderr, "paydistd: stopping took longer than %lld ms: exiting now; the next start goes on from "
                         "the last commit\n",
                 static_cast<long long>(kStopBudget.count()));
    std::fflush(stderr);
    std::_Exit(kExitFailed);
  }).detach();
}

void setup_logging() {
  auto logger = spdlog::stderr_color_mt("paydistd");
  // Under systemd the journal adds the time; the level stays in the line.
  logger->set_pattern(std::getenv("INVOCATION_ID") != nullptr ? "%l %v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
}

class Daemon {
 public:
  Daemon(asio::io_context& io, asio::signal_set& signals, std::unique_ptr<Service> service)
      : io_(io), service_(std::move(service)), signals_(signals), turn_timer_(io), watchdog_timer_(io) {}

  Status start_http(const std::string& listen) {
    Result<std::unique_ptr<HttpServer>> http =
        HttpServer::start(io_, listen, [this](std::string_view path) { return route(path); });
    if (!http) return Error{http.error()};
    http_ = std::move(*http);
    spdlog::info("http: /metrics, /healthz, /readyz on port {}", http_->port());
    return Ok{};
  }

  int run() {
    wait_for_signal();
    start_watchdog();
    sd_notifyf(0, "READY=1\nSTATUS=consuming (brokers %s)", service_->bootstrap().c_str());
    asio::post(io_, [this] { turn(); });
    io_.run();
    return exit_status_;
  }

 private:
  HttpReply route(std::string_view path) {
    if (path == "/metrics")
      return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(service_->metrics(), service_->gauges())};
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
      if (service_->ready()) return {200, "text/plain; charset=utf-8", "ready\n"};
      return {503, "text/plain; charset=utf-8", "not ready: no partitions assigned yet, broker unreachable or outbox full\n"};
    }
    return {404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /readyz\n"};
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        spdlog::info("SIGHUP: logs go to stderr (the journal under systemd): nothing to reopen");
        wait_for_signal();
        return;
      }
      spdlog::info("{}: finishing the batch, committing, flushing outputs", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      start_stop_guard();
      stopping_ = true;
    });
  }

  void start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    watchdog_interval_ = std::chrono::microseconds{usec / 2};
    ping_watchdog();
  }

  void ping_watchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_.expires_after(watchdog_interval_);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ping_watchdog();
    });
  }

  void turn() {
    if (stopping_) {
      stop();
      return;
    }
    Result<bool> more = service_->turn(kTurnBudget);
    if (!more) {
      spdlog::error("stopping: {}", more.error());
      sd_notifyf(0, "STATUS=failed: %s", more.error().c_str());
      exit_status_ = kExitFailed;
      finish();
      return;
    }
    if (*more) {
      asio::post(io_, [this] { turn(); });
      return;
    }
    turn_timer_.expires_after(std::chrono::milliseconds{5});
    turn_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) turn();
    });
  }

  void stop() {
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    Status s = service_->shutdown(kShutdownFlushTimeout);
    if (!s) {
      spdlog::error("stopping: {}", s.error());
      exit_status_ = kExitFailed;
    } else {
      spdlog::info("stopped");
    }
    g_exit_status = exit_status_;
    g_shutdown_done = true;
    spdlog::default_logger()->flush();
    finish();
  }

  void finish() {
    signals_.cancel();
    turn_timer_.cancel();
    watchdog_timer_.cancel();
    if (http_) http_->stop();
    io_.stop();
  }

  asio::io_context& io_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<HttpServer> http_;
  asio::signal_set& signals_;
  asio::steady_timer turn_timer_;
  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  bool stopping_ = false;
  int exit_status_ = kExitOk;
};

int run(int argc, char** argv) {
  CLI::App app{"paydistd: the paydist service: consumes payment events from Kafka, keeps state in LMDB, "
               "publishes activities, distributions and rejects",
               "paydistd"};
  app.set_version_flag("--version", "paydistd " PAYDIST_VERSION);
  std::string config_path;
  std::string state_dir;
  app.add_option("--config", config_path, "TOML configuration file (config/paydist.example.toml documents every key)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--state", state_dir, "State directory (overrides [state] dir)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "paydistd: {}\nRun 'paydistd --help' for usage.\n", e.what());
    return kExitUsage;
  }
  Result<Config> config = load_config(config_path);
  if (!config) {
    fmt::print(stderr, "paydistd: {}\n", config.error());
    return kExitUsage;
  }
  if (!state_dir.empty()) config->state.dir = state_dir;
  if (config->business_date.source == BusinessDateConfig::Source::clock) {
    // The business day starts at midnight in this zone: it becomes the process's local time,
    // set before any thread starts (setenv is not thread-safe).
    const std::string& zone = config->business_date.time_zone;
    const std::string zone_file = "/usr/share/zoneinfo/" + zone;
    if (zone != "UTC" && ::access(zone_file.c_str(), R_OK) != 0) {
      fmt::print(stderr, "paydistd: {}: business_date.time_zone: unknown time zone \"{}\" (no {}; Debian's tzdata has them)\n",
                 config_path, zone, zone_file);
      return kExitUsage;
    }
    ::setenv("TZ", zone.c_str(), 1);
    ::tzset();
  }

  setup_logging();
  spdlog::info("paydistd {} starting: state {}", PAYDIST_VERSION, config->state.dir);
  ServiceLog log{[](std::string_view text) { spdlog::info("{}", text); },
                 [](std::string_view text) { spdlog::warn("{}", text); }};
  // The signals are caught from here on: one that comes during start-up waits in the set and
  // stops the daemon as soon as its loop runs.
  asio::io_context io;
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  Result<std::unique_ptr<Service>> service = Service::start(*config, log);
  if (!service) {
    spdlog::error("cannot start: {}", service.error());
    return kExitFailed;
  }
  Daemon daemon{io, signals, std::move(*service)};
  if (Status s = daemon.start_http(config->http.listen); !s) {
    spdlog::error("cannot start: {}", s.error());
    return kExitFailed;
  }
  return daemon.run();
}

}  // namespace
}  // namespace paydist

int main(int argc, char** argv) {
  try {
    return paydist::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paydistd: %s\n", e.what());
    return 1;
  }
}
