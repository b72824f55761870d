// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of
// stored history records: cheap enough to verify every record at start-up
// and catches torn writes and flipped bytes.
#pragma once

#include <cstdint>
#include <span>

namespace iciia {

uint32_t crc32(std::span<const uint8_t> data, uint32_t crc = 0);

}  // namespace iciia
