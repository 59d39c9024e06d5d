// core/invariant.h: programmer errors (a broken invariant, corrupt state) stop the process
// loudly in every build; they are never turned into rejects or silently skipped.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace paydist::detail {
[[noreturn]] inline void invariant_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "paydist: invariant broken: %s (%s:%d)\n", expr, file, line);
  std::abort();
}
}  // namespace paydist::detail

#define PAYDIST_INVARIANT(expr) \
  ((expr) ? static_cast<void>(0) : ::paydist::detail::invariant_failed(#expr, __FILE__, __LINE__))
