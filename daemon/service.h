// daemon/service.h: paydistd's work, one turn at a time (issue 5): consume input partitions
// (a consumer group), apply each message through the same MessageApplier and LMDB store as
// `paydist replay`, commit state + input offsets + outbox in one transaction per batch, then
// publish the outbox (idempotent producer, a paydist-seq header per output) and acknowledge
// what the broker took. Wiring only: every rule is in core/.
//   auto service = Service::start(config).value();
//   while (!stopping) if (!service->turn()) break;   // the event loop calls turn()
//   service->shutdown();
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"
#include "daemon/metrics.h"

namespace paydist {

// Log lines for the operator (the daemon's main routes them to spdlog).
struct ServiceLog {
  std::function<void(std::string_view)> info;
  std::function<void(std::string_view)> warn;
};

class Service {
 public:
  // Opens the state, reaches the broker (or starts the embedded one), republishes what a
  // previous run committed but did not see acknowledged, and joins the consumer group.
  static Result<std::unique_ptr<Service>> start(const Config& config, ServiceLog log);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Polls input for at most `budget`, applies it, commits a due batch, publishes and serves
  // delivery reports. true: there may be more input at once. An Error is fatal: state and
  // outbox stay consistent, and a restart goes on from them.
  Result<bool> turn(std::chrono::milliseconds budget);
  // Commits the open batch, publishes what is committed (waiting at most `flush_timeout`
  // for acknowledgements: what is not acknowledged stays in the outbox for the next run),
  // and leaves the consumer group.
  Status shutdown(std::chrono::milliseconds flush_timeout);

  const Metrics& metrics() const;
  Gauges gauges();
  // Ready: partitions assigned, the broker reachable, the outbox below its bound.
  bool ready() const;
  std::string bootstrap() const;  // the brokers in use (the embedded one's address)

  struct Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace paydist
