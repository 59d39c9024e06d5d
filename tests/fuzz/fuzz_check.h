// tests/fuzz/fuzz_check.h: what the fuzz targets share: a property check that stops the run
// with a reason (libFuzzer then keeps the input as a crash artifact), and the output checks
// every target applies (one line, valid UTF-8, valid JSON).
//   PAYDIST_FUZZ_CHECK(d.message || !d.message.error().empty(), "empty reason");
//   PAYDIST_FUZZ_CHECK(is_json_object(out), "not JSON: {}", out);
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace paydist::fuzz {

[[noreturn]] void check_failed(const char* expr, const char* file, int line, const std::string& detail);

// A one-line reason: non-empty, valid UTF-8, no control characters (contract 4: "a one-line
// reason").
bool is_one_line_reason(std::string_view text);

// `text` is exactly one JSON object (RFC 8259, simdjson's DOM parser) on one line.
bool is_json_object_line(std::string_view text);

}  // namespace paydist::fuzz

#define PAYDIST_FUZZ_CHECK(expr, ...)                                                                 \
  do {                                                                                                \
    if (!(expr)) ::paydist::fuzz::check_failed(#expr, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
