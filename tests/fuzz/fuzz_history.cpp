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
#include <fstream>
#include <span>
#include <string>

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

constexpr uint32_t kDim = 4;

iciia::Fingerprint fingerprint() {
  iciia::Fingerprint f;
  f.fill(7);
  return f;
}

void check_record(const iciia::HistoryRecord& r) {
  if (r.features.size() != kDim) finding("decoded record has the wrong dim");
  for (float v : r.features)
    if (!std::isfinite(v)) finding("decoded record holds a non-finite feature");
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
  iciia::HistoryStore store(std::make_shared<iciia::MemoryBackend>(db, "c"), fingerprint(), kDim, 5);
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
  store.append(std::vector<float>(kDim, 0.5f), 1.0, [&](iciia::StoreStatus st) {
    if (!st.ok()) finding("append failed");
  });
  if (store.records().back().seq < newest) finding("append reused an older seq");
  if (store.records().size() != std::min<size_t>(before + 1, 5)) finding("append did not add exactly one row");
}

void write_seed(const std::string& path, uint8_t target, const iciia::Bytes& body) {
  iciia::fuzz::write_file(path, body, target);
}

void write_seeds(const std::string& dir) {
  const iciia::HistoryRecord a{3, 1700000000000.0, {0.25f, -1.0f, 2.0f, 0.0f}};
  const iciia::HistoryRecord b{4, 1700000000001.0, {1.0f, 1.0f, -3.5f, 7.0f}};
  write_seed(dir + "/record", 0, iciia::encode_record(a, fingerprint()));
  write_seed(dir + "/head", 0, iciia::encode_head({5, 2}));
  write_seed(dir + "/export", 1, iciia::export_history({a, b}, fingerprint()));
  iciia::Bytes stored = iciia::encode_head({5, 0});
  for (const auto* r : {&a, &b}) {
    stored.push_back(0xFF);
    stored.push_back(0xFE);
    const auto rec = iciia::encode_record(*r, fingerprint());
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
  std::printf("wrote 5 seeds to %s\n", dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) { return iciia::fuzz::write_seeds_if_asked(write_seeds); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        const iciia::DecodedRecord d = iciia::decode_record(in, fingerprint(), kDim);
        if (d.status == iciia::RecordStatus::kOk) {
          check_record(d.record);
          // An accepted record re-encodes to the same bytes.
          if (iciia::encode_record(d.record, fingerprint()) != iciia::Bytes(in.begin(), in.end()))
            finding("record does not round-trip");
        }
        iciia::HistoryHead head;
        std::string why;
        if (iciia::decode_head(in, &head, &why) && iciia::encode_head(head) != iciia::Bytes(in.begin(), in.end()))
          finding("head does not round-trip");
        break;
      }
      case 1: {
        const auto records = iciia::parse_history_export(in, fingerprint(), kDim, 64);
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
