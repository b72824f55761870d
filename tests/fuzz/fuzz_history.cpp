// libFuzzer harness for what the recognizer reads from storage and from
// users: history records and heads (IndexedDB values another tab, an old
// version or a full disk may have mangled), history exports, and bundle
// manifests. The first byte picks the target. Any exception other than
// iciia::Error, any sanitizer report and any broken invariant is a finding.
//
// Valid records carry a CRC, which mutation alone rarely gets right, so the
// seeds in tests/fuzz/seeds_history/ are written by this binary:
//   ICIIA_FUZZ_WRITE_SEEDS=tests/fuzz/seeds_history build/fuzz/tests/fuzz/fuzz_history
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <span>
#include <string>

#include "../native/history_v1_record.h"
#include "fuzz_support.h"
#include "pipeline/bundle.h"
#include "store/history_store.h"
#include "store/memory_backend.h"
#include "util/error.h"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_history: invariant broken: %s\n", what);
  std::abort();
}

constexpr uint32_t kDim = 4, kClasses = 3;

iciia::HistoryTags tags() {
  iciia::HistoryTags t;
  t.backbone.fill(7);
  t.bundle.fill(8);
  return t;
}

void check_record(const iciia::HistoryRecord& r) {
  if (r.features.size() != kDim) finding("decoded record has the wrong dim");
  if (!r.logits.empty() && r.logits.size() != kClasses) finding("decoded record has the wrong class count");
  for (float v : r.features)
    if (!std::isfinite(v)) finding("decoded record holds a non-finite feature");
  for (float v : r.logits)
    if (!std::isfinite(v)) finding("decoded record holds a non-finite logit");
}

// A version-1 record as the previous release wrote it (for the seeds).
iciia::Bytes v1_record(const iciia::HistoryRecord& r) {
  return iciia::test::v1_record(r.seq, r.timestamp_ms, r.features, tags().bundle);
}

std::vector<uint64_t> seqs(const iciia::HistoryStore& s) {
  std::vector<uint64_t> out;
  for (const auto& r : s.records()) out.push_back(r.seq);
  return out;
}

// The input, cut into stored values by 0xFF 0xFE markers, becomes a client's
// IndexedDB content (first piece: the head); a store loads it, then appends.
void load_store(std::span<const uint8_t> in) {
  auto db = std::make_shared<iciia::MemoryDatabase>();
  int64_t seq = iciia::kHeadSeq;
  size_t start = 0;
  for (size_t i = 0; i + 1 <= in.size(); ++i) {
    const bool cut = i + 1 < in.size() && in[i] == 0xFF && in[i + 1] == 0xFE;
    if (cut || i + 1 == in.size()) {
      const size_t end = cut ? i : in.size();
      db->entries[{"c", seq}] = iciia::Bytes(in.begin() + start, in.begin() + end);
      seq = seq < 0 ? 0 : seq + 1 + (end - start) % 3;  // gaps, like deleted keys
      start = end + 2;
      ++i;
    }
  }
  iciia::HistoryStore store(std::make_shared<iciia::MemoryBackend>(db, "c"), tags(), kDim, kClasses, 5);
  bool done = false;
  store.sync([&](iciia::StoreStatus st) {
    done = true;
    if (!st.ok()) finding("memory backend sync failed");
  });
  if (!done) finding("sync did not complete");
  if (store.records().size() > 5) finding("more records than capacity");
  uint64_t last = 0;
  for (size_t i = 0; i < store.records().size(); ++i) {
    check_record(store.records()[i]);
    if (i && store.records()[i].seq <= last) finding("records not in ascending seq order");
    last = store.records()[i].seq;
  }
  const size_t before = store.records().size();
  const uint64_t newest = before ? store.records().back().seq : 0;
  const iciia::HistoryRecord fresh{0, 1.0, std::vector<float>(kDim, 0.5f), std::vector<float>(kClasses, -1.f)};
  store.append(fresh, [&](iciia::StoreStatus st) {
    if (!st.ok()) finding("append failed");
  });
  const uint64_t added = store.records().back().seq;
  if (before && added <= newest) finding("append reused an older seq");
  if (store.records().size() > before + 1) finding("append added more than one row");
  if (store.records().front().seq + 5 <= added) finding("a row older than the window stayed");
  // A commit that fails (a full disk) leaves memory as a fresh load sees storage.
  db->fail_writes_with_quota = 1;
  bool failed = false;
  store.append(fresh, [&](iciia::StoreStatus st) { failed = st.kind == iciia::StoreStatus::Kind::kQuota; });
  if (!failed) finding("injected quota error not reported");
  iciia::HistoryStore reloaded(std::make_shared<iciia::MemoryBackend>(db, "c"), tags(), kDim, kClasses, 5);
  reloaded.sync([](iciia::StoreStatus) {});
  if (seqs(reloaded) != seqs(store)) finding("after a failed commit, memory and storage disagree");
}

void write_seed(const std::string& path, uint8_t target, const iciia::Bytes& body) {
  iciia::fuzz::write_file(path, body, target);
}

void write_seeds(const std::string& dir) {
  const iciia::HistoryRecord a{3, 1700000000000.0, {0.25f, -1.0f, 2.0f, 0.0f}, {1.5f, -2.0f, 0.0f}};
  const iciia::HistoryRecord b{4, 1700000000001.0, {1.0f, 1.0f, -3.5f, 7.0f}, {0.0f, 0.25f, 4.0f}};
  const iciia::HistoryRecord old{2, 1600000000000.0, {0.5f, 0.5f, 0.5f, -0.5f}, {}};
  write_seed(dir + "/record", 0, iciia::encode_record(a, tags().backbone));
  write_seed(dir + "/record_v1", 0, v1_record(old));
  write_seed(dir + "/head", 0, iciia::encode_head({5, 2}));
  const std::deque<iciia::HistoryRecord> both = {a, b};
  write_seed(dir + "/export", 1, iciia::export_history({both.cbegin(), both.cend()}, tags().backbone));
  // An export of the previous release: version-1 records.
  iciia::Bytes old_export(16, 0);
  std::memcpy(old_export.data(), "ICIIAHX1", 8);
  old_export[8] = 1;
  const iciia::Bytes v1 = v1_record(old);
  const uint32_t len = uint32_t(v1.size());
  old_export.insert(old_export.end(), reinterpret_cast<const uint8_t*>(&len), reinterpret_cast<const uint8_t*>(&len) + 4);
  old_export.insert(old_export.end(), v1.begin(), v1.end());
  write_seed(dir + "/export_v1", 1, old_export);
  // Stored content mixing both versions, as after an upgrade.
  iciia::Bytes stored = iciia::encode_head({5, 0});
  for (const iciia::Bytes& rec : {v1_record(old), iciia::encode_record(a, tags().backbone), iciia::encode_record(b, tags().backbone)}) {
    stored.push_back(0xFF);
    stored.push_back(0xFE);
    stored.insert(stored.end(), rec.begin(), rec.end());
  }
  write_seed(dir + "/store", 2, stored);
  iciia::BundleManifest m;
  m.name = "seed";
  m.backbone = {"backbone.onnx", std::string(64, 'a')};
  m.iciia = iciia::BundleManifest::File{"iciia.safetensors", std::string(64, 'b')};
  m.input = "input";
  m.features = "features";
  m.logits = "logits";
  m.preprocess = {28, 28, 1, 1.0f / 255, {0.286f}, {0.353f}};
  m.labels = {"T-shirt/top", "Trouser"};
  const std::string json = iciia::manifest_to_json(m);
  write_seed(dir + "/manifest", 3, iciia::Bytes(json.begin(), json.end()));
  std::printf("wrote 7 seeds to %s\n", dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) { return iciia::fuzz::write_seeds_if_asked(write_seeds); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        const iciia::DecodedRecord d = iciia::decode_record(in, tags(), kDim, kClasses);
        if (d.status == iciia::RecordStatus::kOk) {
          check_record(d.record);
          // An accepted version-2 record re-encodes to the same bytes; a
          // version-1 one to a version-2 record of the same content.
          const iciia::Bytes again = iciia::encode_record(d.record, tags().backbone);
          if (d.version == 2 && again != iciia::Bytes(in.begin(), in.end())) finding("record does not round-trip");
          const iciia::DecodedRecord back = iciia::decode_record(again, tags(), kDim, kClasses);
          if (back.status != iciia::RecordStatus::kOk || back.record.seq != d.record.seq ||
              back.record.features != d.record.features || back.record.logits != d.record.logits)
            finding("re-encoded record decodes differently");
        }
        iciia::HistoryHead head;
        std::string why;
        if (iciia::decode_head(in, &head, &why) && iciia::encode_head(head) != iciia::Bytes(in.begin(), in.end()))
          finding("head does not round-trip");
        break;
      }
      case 1: {
        const auto records = iciia::parse_history_export(in, tags(), kDim, kClasses, 64);
        if (records.size() > 64) finding("export over the record limit accepted");
        for (const auto& r : records) check_record(r);
        break;
      }
      case 2:
        load_store(in);
        break;
      default: {
        const iciia::BundleManifest m =
            iciia::parse_manifest(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
        if (m.labels.empty() || m.preprocess.mean.size() != size_t(m.preprocess.channels))
          finding("accepted manifest is inconsistent");
        // What the writer makes of an accepted manifest parses to the same.
        const iciia::BundleManifest again = iciia::parse_manifest(iciia::manifest_to_json(m));
        if (again.labels != m.labels || again.backbone.sha256 != m.backbone.sha256 ||
            again.history_capacity != m.history_capacity)
          finding("manifest does not round-trip");
        break;
      }
    }
  } catch (const iciia::Error&) {
    // Typed rejection: the expected outcome for malformed input.
  }
  return 0;
}
