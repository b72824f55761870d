#include "util/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace iciia {
namespace {

std::string hex_of(const std::string& s) {
  return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Split updates at every boundary around the 55/56/64-byte padding edges
// must give the one-shot digest.
TEST(Sha256, IncrementalEqualsOneShot) {
  std::vector<uint8_t> data(200);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 37 + 11);
  for (size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 200u}) {
    const auto expect = sha256({data.data(), len});
    for (size_t cut = 0; cut <= len; cut += 7) {
      Sha256 h;
      h.update({data.data(), cut});
      h.update({data.data() + cut, len - cut});
      EXPECT_EQ(h.finish(), expect) << "len " << len << " cut " << cut;
    }
  }
}

}  // namespace
}  // namespace iciia
