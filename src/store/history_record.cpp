#include "store/history_record.h"

#include <cmath>
#include <cstring>

#include "store/crc32.h"

namespace iciia {
namespace {

constexpr size_t kRecordHeader = 64;
constexpr size_t kHeadBytes = 4 + 4 + 8 + 8 + 4;

template <typename T>
void put(std::vector<uint8_t>& out, size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));  // wasm and x86 are little-endian
}
template <typename T>
T get(std::span<const uint8_t> in, size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

void seal(std::vector<uint8_t>& out) {
  const uint32_t crc = crc32({out.data(), out.size() - 4});
  put(out, out.size() - 4, crc);
}

bool intact(std::span<const uint8_t> in) {
  return get<uint32_t>(in, in.size() - 4) == crc32(in.first(in.size() - 4));
}

}  // namespace

std::vector<uint8_t> encode_record(const HistoryRecord& record, const Fingerprint& backbone) {
  const size_t n = record.features.size(), c = record.logits.size();
  std::vector<uint8_t> out(kRecordHeader + (n + c) * 4 + 4);
  std::memcpy(out.data(), "ICHR", 4);
  put<uint16_t>(out, 4, kHistoryRecordVersion);
  put<uint16_t>(out, 6, 0);
  put<uint64_t>(out, 8, record.seq);
  put<double>(out, 16, record.timestamp_ms);
  std::memcpy(out.data() + 24, backbone.data(), 32);
  put<uint32_t>(out, 56, static_cast<uint32_t>(n));
  put<uint32_t>(out, 60, static_cast<uint32_t>(c));
  if (n) std::memcpy(out.data() + kRecordHeader, record.features.data(), n * 4);
  if (c) std::memcpy(out.data() + kRecordHeader + n * 4, record.logits.data(), c * 4);
  seal(out);
  return out;
}

DecodedRecord decode_record(std::span<const uint8_t> in, const HistoryTags& tags, uint32_t dim, uint32_t classes) {
  DecodedRecord d;
  auto corrupt = [&](std::string why) {
    d.status = RecordStatus::kCorrupt;
    d.reason = std::move(why);
    return d;
  };
  if (in.size() < kRecordHeader + 4) return corrupt("only " + std::to_string(in.size()) + " bytes, a record has at least 68");
  if (std::memcmp(in.data(), "ICHR", 4) != 0) return corrupt("bad magic (not a history record)");
  // The checksum first: a torn record must not be mistaken for a newer version.
  if (!intact(in)) return corrupt("checksum mismatch (torn or altered record)");
  d.version = get<uint16_t>(in, 4);
  if (d.version != 1 && d.version != 2)
    return corrupt("record format version " + std::to_string(d.version) + ", this build reads 1 and 2");
  const uint32_t n = get<uint32_t>(in, 56);
  const uint32_t c = d.version == 1 ? 0 : get<uint32_t>(in, 60);
  if (d.version == 1 && get<uint32_t>(in, 60) != 0) return corrupt("version-1 record with a non-zero reserved field");
  if (n > kMaxRecordDim || c > kMaxRecordClasses || in.size() != kRecordHeader + (size_t(n) + c) * 4 + 4)
    return corrupt("length " + std::to_string(in.size()) + " does not match " + std::to_string(n) + " features and " +
                   std::to_string(c) + " logits");
  // Version 2 is tagged by the backbone alone; version 1 by the whole bundle.
  const Fingerprint& expected = d.version == 1 ? tags.bundle : tags.backbone;
  if (std::memcmp(in.data() + 24, expected.data(), 32) != 0) {
    d.status = RecordStatus::kOtherModel;
    d.reason = "written under another model";
    return d;
  }
  if (n != dim || (c != 0 && c != classes)) {
    d.status = RecordStatus::kOtherDim;
    d.reason = std::to_string(n) + " features and " + std::to_string(c) + " logits, the model has " +
               std::to_string(dim) + " and " + std::to_string(classes);
    return d;
  }
  d.record.seq = get<uint64_t>(in, 8);
  d.record.timestamp_ms = get<double>(in, 16);
  d.record.features.resize(n);
  d.record.logits.resize(c);
  if (n) std::memcpy(d.record.features.data(), in.data() + kRecordHeader, size_t(n) * 4);
  if (c) std::memcpy(d.record.logits.data(), in.data() + kRecordHeader + size_t(n) * 4, size_t(c) * 4);
  for (uint32_t i = 0; i < n; ++i)
    if (!std::isfinite(d.record.features[i])) return corrupt("feature " + std::to_string(i) + " is not finite");
  for (uint32_t i = 0; i < c; ++i)
    if (!std::isfinite(d.record.logits[i])) return corrupt("logit " + std::to_string(i) + " is not finite");
  d.status = RecordStatus::kOk;
  return d;
}

std::vector<uint8_t> encode_head(const HistoryHead& head) {
  std::vector<uint8_t> out(kHeadBytes);
  std::memcpy(out.data(), "ICHH", 4);
  put<uint16_t>(out, 4, 1);
  put<uint16_t>(out, 6, 0);
  put<uint64_t>(out, 8, head.next_seq);
  put<uint64_t>(out, 16, head.generation);
  seal(out);
  return out;
}

bool decode_head(std::span<const uint8_t> in, HistoryHead* head, std::string* reason) {
  if (in.size() != kHeadBytes || std::memcmp(in.data(), "ICHH", 4) != 0) {
    *reason = "not a history head (" + std::to_string(in.size()) + " bytes)";
    return false;
  }
  if (!intact(in)) {
    *reason = "history head checksum mismatch";
    return false;
  }
  if (get<uint16_t>(in, 4) != 1) {
    *reason = "history head version " + std::to_string(get<uint16_t>(in, 4));
    return false;
  }
  head->next_seq = get<uint64_t>(in, 8);
  head->generation = get<uint64_t>(in, 16);
  return true;
}

}  // namespace iciia
