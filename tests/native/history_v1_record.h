// A history record of format version 1, as the release before adaptation
// modes wrote it (docs/design.md, "History store"): features only, tagged
// with the bundle's fingerprint, offset 60 reserved. Written here from the
// documented layout, independently of encode_record, for the tests that
// check old records stay readable.
#pragma once

#include <cstring>
#include <vector>

#include "store/crc32.h"
#include "store/history_record.h"

namespace iciia::test {

inline std::vector<uint8_t> v1_record(uint64_t seq, double timestamp, const std::vector<float>& features,
                                      const Fingerprint& bundle) {
  std::vector<uint8_t> b(64 + features.size() * 4 + 4, 0);
  std::memcpy(b.data(), "ICHR", 4);
  const uint16_t version = 1;
  std::memcpy(b.data() + 4, &version, 2);
  std::memcpy(b.data() + 8, &seq, 8);
  std::memcpy(b.data() + 16, &timestamp, 8);
  std::memcpy(b.data() + 24, bundle.data(), 32);
  const uint32_t n = uint32_t(features.size());
  std::memcpy(b.data() + 56, &n, 4);
  if (n) std::memcpy(b.data() + 64, features.data(), features.size() * 4);
  const uint32_t crc = crc32({b.data(), b.size() - 4});
  std::memcpy(b.data() + b.size() - 4, &crc, 4);
  return b;
}

}  // namespace iciia::test
