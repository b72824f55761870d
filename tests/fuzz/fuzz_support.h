// What the libFuzzer harnesses share: writing the seed files they generate
// themselves (ICIIA_FUZZ_WRITE_SEEDS=DIR, see each harness's header).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>

namespace iciia::fuzz {

// Writes `prefix` (when given) then `bytes` to `path`; exits the process with
// a message when the file cannot be written.
inline void write_file(const std::string& path, std::span<const uint8_t> bytes, int prefix = -1) {
  std::ofstream f(path, std::ios::binary);
  if (prefix >= 0) f.put(static_cast<char>(prefix));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// For LLVMFuzzerInitialize: when ICIIA_FUZZ_WRITE_SEEDS names a folder,
// write_seeds(folder) and exit instead of fuzzing.
template <class WriteSeeds>
int write_seeds_if_asked(WriteSeeds write_seeds) {
  if (const char* dir = std::getenv("ICIIA_FUZZ_WRITE_SEEDS")) {
    write_seeds(std::string(dir));
    std::exit(0);
  }
  return 0;
}

}  // namespace iciia::fuzz
