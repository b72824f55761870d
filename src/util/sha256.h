// SHA-256 (FIPS 180-4): verifies model bundle files against their manifest and
// fingerprints a bundle, in the browser as natively (no platform crypto, so
// the wasm core needs no async WebCrypto round trip).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace iciia {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void update(std::span<const uint8_t> data);
  Digest finish();  // the object must not be updated afterwards

 private:
  void block(const uint8_t* p);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes hashed so far
};

Sha256::Digest sha256(std::span<const uint8_t> data);
std::string to_hex(std::span<const uint8_t> bytes);
std::string sha256_hex(std::span<const uint8_t> data);

}  // namespace iciia
