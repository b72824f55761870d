// The bytes of one stored history record and of the per-client head
// (docs/design.md, "History store").
//
// Record, version 2 (little-endian), what this build writes:
//    0  "ICHR"                  magic
//    4  u16 version = 2, u16 flags = 0
//    8  u64 seq                 position in the client's history, never reused
//   16  f64 timestamp           ms since the Unix epoch, when it was remembered
//   24  32 bytes fingerprint    the backbone's (features and logits depend on it alone)
//   56  u32 dim                 feature count
//   60  u32 classes             logit count: the model's C, or 0 when unknown
//   64  f32[dim] features       backbone features (finite)
//   ..  f32[classes] logits     the backbone's own logits (finite)
//   ..  u32 crc32               of every byte before it
// Version 1 (still read): the same up to the features, offset 60 reserved = 0,
// no logits, and the fingerprint of the whole bundle (backbone and ICIIA
// weights). A version-1 record decodes with empty logits.
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

inline constexpr uint16_t kHistoryRecordVersion = 2;
inline constexpr uint32_t kMaxRecordDim = 1u << 16;
inline constexpr uint32_t kMaxRecordClasses = 1u << 16;

// Which stored records belong to a recognizer.
struct HistoryTags {
  Fingerprint backbone;  // required of version-2 records, written into new ones
  Fingerprint bundle;    // required of version-1 records (what they were tagged with)
};

struct HistoryRecord {
  uint64_t seq = 0;
  double timestamp_ms = 0;
  std::vector<float> features;
  std::vector<float> logits;  // the backbone's; empty when unknown (a version-1 record)
};

// Always version 2, tagged with tags.backbone. A record without logits
// (imported from version 1) is written with classes = 0.
std::vector<uint8_t> encode_record(const HistoryRecord& record, const Fingerprint& backbone);

enum class RecordStatus {
  kOk,
  kCorrupt,     // torn, flipped, wrong magic/version, non-finite values
  kOtherModel,  // intact, but written under another model's fingerprint
  kOtherDim,    // intact, this fingerprint, but not `dim` features or `classes` logits (cannot happen unless forged)
};

struct DecodedRecord {
  RecordStatus status = RecordStatus::kCorrupt;
  std::string reason;  // why, when not kOk
  uint16_t version = 0;
  HistoryRecord record;
};

DecodedRecord decode_record(std::span<const uint8_t> bytes, const HistoryTags& tags, uint32_t dim, uint32_t classes);

struct HistoryHead {
  uint64_t next_seq = 0;
  uint64_t generation = 0;
};

std::vector<uint8_t> encode_head(const HistoryHead& head);
// False (and `reason` set) when the bytes are not an intact head.
bool decode_head(std::span<const uint8_t> bytes, HistoryHead* head, std::string* reason);

}  // namespace iciia
