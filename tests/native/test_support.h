// Shared helpers for the native test suites.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "util/error.h"

namespace iciia::test {

// Absolute path of the repository root (compiled in).
std::string source_dir();
// ../shared beside the repository, or ICIIA_SHARED_DIR if set; nullopt when absent.
std::optional<std::string> shared_dir();
// Reads a whole file; fails the test if it cannot.
std::vector<uint8_t> read_bytes(const std::string& path);
// Deterministic uniform values in [lo, hi).
std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f);
// Runs f, which must throw iciia::Error with `code` and a message containing
// every one of `parts`; a test failure says which part is missing.
void expect_error(const std::function<void()>& f, ErrorCode code, std::initializer_list<std::string> parts);
// Fresh temporary directory for a test.
std::string temp_dir();

}  // namespace iciia::test
