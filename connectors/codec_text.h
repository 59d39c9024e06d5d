// connectors/codec_text.h: private to the codec. UTF-8 stepping and JSON string escaping
// that keep every output valid UTF-8 and valid JSON, whatever bytes came in.
// Never decides what a field means; only how its text is written.
//   append_json_string(out, raw_line);      // "..." with invalid bytes as U+FFFD
//   std::string reason = one_line(text);     // control and invalid bytes become '?'
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace paydist::codec_text {

// One step through UTF-8 text: a well-formed sequence (`valid`, 1 to 4 bytes), or the
// maximal ill-formed subpart to replace with one U+FFFD (Unicode 15, section 3.9).
struct Utf8Step {
  std::size_t length = 1;
  bool valid = false;
};

inline Utf8Step utf8_step(const unsigned char* p, std::size_t available) {
  const unsigned char lead = p[0];
  if (lead < 0x80) return {1, true};
  std::size_t need = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) second_low = 0xA0;   // no overlong forms
    if (lead == 0xED) second_high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) second_low = 0x90;   // no overlong forms
    if (lead == 0xF4) second_high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i < need; ++i) {
    if (i >= available) return {i, false};
    const unsigned char low = i == 1 ? second_low : 0x80;
    const unsigned char high = i == 1 ? second_high : 0xBF;
    if (p[i] < low || p[i] > high) return {i, false};
  }
  return {need, true};
}

// Appends `text` as a JSON string literal (with quotes). Invalid UTF-8 becomes U+FFFD,
// control characters are escaped; plain ASCII is copied in runs.
void append_json_string(std::string& out, std::string_view text);

// The longest prefix of `text` of at most `max_bytes` that does not split a UTF-8
// sequence (judged by lead and continuation bytes only, so it works on invalid text too).
inline std::string_view cut_on_utf8_boundary(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  // Back up over at most 3 continuation bytes: a sequence is at most 4 bytes long.
  for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++i) --cut;
  return text.substr(0, cut);
}

// A reject reason is one line of valid UTF-8: control characters and invalid bytes in
// quoted input (a key, a bad value, a cut-off prefix) become '?'.
inline std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    const Utf8Step step = utf8_step(p + i, text.size() - i);
    if (!step.valid || p[i] < 0x20 || p[i] == 0x7F) {
      out.push_back('?');
    } else {
      out.append(text.data() + i, step.length);
    }
    i += step.length;
  }
  return out;
}

}  // namespace paydist::codec_text
