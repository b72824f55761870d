#include "util/text.h"

#include <algorithm>

namespace iciia {

std::string dims_string(std::span<const int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

std::string printable(std::string_view s, size_t max_chars) {
  std::string out;
  const size_t n = std::min(s.size(), max_chars);
  out.reserve(n + 3);
  for (size_t k = 0; k < n; ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > n) out += "...";
  return out;
}

}  // namespace iciia
