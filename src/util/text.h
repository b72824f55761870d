// Small pieces of error-message text, the same everywhere a message names a
// shape or a string taken from an untrusted file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace iciia {

// "[1, 3, 224, 224]"
std::string dims_string(std::span<const int64_t> dims);

// A name from a file, fit for a message: at most `max_chars` characters
// (then "..."), bytes outside printable ASCII shown as '?'.
std::string printable(std::string_view s, size_t max_chars = 80);

}  // namespace iciia
