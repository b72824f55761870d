// The bytes of one stored history record and of the per-client head.
//
// Record, version 1 (little-endian):
//    0  "ICHR"                  magic
//    4  u16 version = 1, u16 flags = 0
//    8  u64 seq                 position in the client's history, never reused
//   16  f64 timestamp           ms since the Unix epoch, when it was remembered
//   24  32 bytes fingerprint    the model bundle's (sha256 of both weight files)
//   56  u32 dim                 feature count
//   60  u32 reserved = 0
//   64  f32[dim] features       backbone features (finite)
//   ..  u32 crc32               of every byte before it
// Head, version 1: "ICHH", u16 version, u16 flags, u64 next_seq,
//   u64 generation (bumped by clear, so other tabs notice), u32 crc32.
//
// Decoding treats the bytes as untrusted (they come from storage that another
// tab, an older version or a full disk may have cut short).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace iciia {

using Fingerprint = std::array<uint8_t, 32>;

inline constexpr uint16_t kHistoryRecordVersion = 1;
inline constexpr uint32_t kMaxRecordDim = 1u << 16;

struct HistoryRecord {
  uint64_t seq = 0;
  double timestamp_ms = 0;
  std::vector<float> features;
};

std::vector<uint8_t> encode_record(const HistoryRecord& record, const Fingerprint& fingerprint);

enum class RecordStatus {
  kOk,
  kCorrupt,     // torn, flipped, wrong magic/version, non-finite values
  kOtherModel,  // intact, but written under another model's fingerprint
  kOtherDim,    // intact, this fingerprint, but not `dim` features (cannot happen unless forged)
};

struct DecodedRecord {
  RecordStatus status = RecordStatus::kCorrupt;
  std::string reason;  // why, when not kOk
  HistoryRecord record;
};

DecodedRecord decode_record(std::span<const uint8_t> bytes, const Fingerprint& fingerprint, uint32_t dim);

struct HistoryHead {
  uint64_t next_seq = 0;
  uint64_t generation = 0;
};

std::vector<uint8_t> encode_head(const HistoryHead& head);
// False (and `reason` set) when the bytes are not an intact head.
bool decode_head(std::span<const uint8_t> bytes, HistoryHead* head, std::string* reason);

}  // namespace iciia
