// connectors/fault_point.h: named points where the crash campaign (tests/crash/) kills the
// process, e.g. between an LMDB commit's last put and the commit itself. Compiled in only
// with -DPAYDIST_FAULT_INJECTION=ON (the test build); otherwise each point is nothing.
//   PAYDIST_FAULT_POINT("commit:after-put");
//   PAYDIST_FAULT=commit:after-put:3 paydistd ...   # SIGKILLs itself at the 3rd pass
//   PAYDIST_FAULT=publish:after-produce:40 PAYDIST_FAULT_STALL_MS=20000 paydistd ...
//     # instead stops the thread that passes there for 20 s (a process that stalls: a zombie)
#pragma once

#ifdef PAYDIST_FAULT_INJECTION
#include <string_view>

namespace paydist {
// Counts a pass through `name`; at the pass PAYDIST_FAULT names (NAME or NAME:N, N >= 1,
// default 1) writes one line to stderr and sends the process SIGKILL: no destructor, no
// flush, no atexit runs, as with a kill from outside. With PAYDIST_FAULT_STALL_MS=MS it
// sleeps MS milliseconds there instead, and goes on.
void fault_point(std::string_view name);
}  // namespace paydist

#define PAYDIST_FAULT_POINT(name) ::paydist::fault_point(name)
#else
#define PAYDIST_FAULT_POINT(name) static_cast<void>(0)
#endif
