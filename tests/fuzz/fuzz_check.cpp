// tests/fuzz/fuzz_check.cpp: the shared checks of the fuzz targets (fuzz_check.h).
#include "tests/fuzz/fuzz_check.h"

#include <cstdio>
#include <cstdlib>

#include <simdjson.h>

#include "connectors/codec_text.h"

namespace paydist::fuzz {

void check_failed(const char* expr, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "paydist fuzz: property broken: %s (%s:%d)\n  %s\n", expr, file, line, detail.c_str());
  std::abort();
}

bool is_one_line_reason(std::string_view text) {
  if (text.empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const codec_text::Utf8Step step = codec_text::utf8_step(p + i, text.size() - i);
    if (!step.valid || p[i] < 0x20 || p[i] == 0x7F) return false;
    i += step.length;
  }
  return true;
}

bool is_json_object_line(std::string_view text) {
  if (text.find('\n') != std::string_view::npos) return false;
  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(simdjson::padded_string{text}).get(root) != simdjson::SUCCESS) return false;
  return root.is_object();
}

}  // namespace paydist::fuzz
