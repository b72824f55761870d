#include "store/history_store.h"

#include <gtest/gtest.h>

#include "store/crc32.h"
#include "store/memory_backend.h"
#include "test_support.h"

namespace iciia {
namespace {

constexpr int kDim = 6;

Fingerprint fp(uint8_t b) {
  Fingerprint f;
  f.fill(b);
  return f;
}

std::vector<float> feature(int i) {
  std::vector<float> v(kDim);
  for (int k = 0; k < kDim; ++k) v[k] = float(i) + 0.125f * k;
  return v;
}

// Records what the observer was told, and the row list it implies.
struct Mirror : HistoryObserver {
  int capacity;
  std::deque<uint64_t> rows;
  int appends = 0, resets = 0;
  explicit Mirror(int c) : capacity(c) {}
  void history_appended(const HistoryRecord& r) override {
    ++appends;
    rows.push_back(r.seq);
    if (rows.size() > size_t(capacity)) rows.pop_front();
  }
  void history_reset(const std::deque<HistoryRecord>& all) override {
    ++resets;
    rows.clear();
    for (auto& r : all) rows.push_back(r.seq);
  }
};

struct Client {
  std::shared_ptr<MemoryBackend> backend;
  Mirror mirror;
  std::vector<std::string> warnings;
  HistoryStore store;
  Client(std::shared_ptr<MemoryDatabase> db, int capacity, Fingerprint f = fp(1), std::string id = "u1")
      : backend(std::make_shared<MemoryBackend>(db, id)), mirror(capacity),
        store(backend, f, kDim, capacity, &mirror, [this](const std::string& w) { warnings.push_back(w); }) {}
};

StoreStatus run(const std::function<void(Done)>& op) {
  std::optional<StoreStatus> got;
  op([&](StoreStatus s) { got = s; });
  EXPECT_TRUE(got.has_value()) << "operation did not complete";
  return got.value_or(StoreStatus{StoreStatus::Kind::kFailed, "pending"});
}

void append(Client& c, int i) {
  StoreStatus s = run([&](Done d) { c.store.append(feature(i), 1000.0 + i, d); });
  ASSERT_TRUE(s.ok()) << s.message;
}

std::vector<uint64_t> seqs(const HistoryStore& s) {
  std::vector<uint64_t> out;
  for (auto& r : s.records()) out.push_back(r.seq);
  return out;
}

size_t stored_records(const MemoryDatabase& db, const std::string& client = "u1") {
  size_t n = 0;
  for (auto& [k, v] : db.entries) n += k.first == client && k.second >= 0;
  return n;
}

TEST(HistoryRecord, RoundTripAndEveryCorruptionIsCaught) {
  HistoryRecord r{7, 1234.5, feature(3)};
  const Bytes b = encode_record(r, fp(1));
  DecodedRecord d = decode_record(b, fp(1), kDim);
  ASSERT_EQ(d.status, RecordStatus::kOk) << d.reason;
  EXPECT_EQ(d.record.seq, 7u);
  EXPECT_EQ(d.record.timestamp_ms, 1234.5);
  EXPECT_EQ(d.record.features, r.features);
  // Any single flipped byte is detected.
  for (size_t i = 0; i < b.size(); ++i) {
    Bytes x = b;
    x[i] ^= 0x10;
    EXPECT_EQ(decode_record(x, fp(1), kDim).status, RecordStatus::kCorrupt) << "byte " << i;
  }
  // Every truncation is detected.
  for (size_t n = 0; n < b.size(); ++n)
    EXPECT_EQ(decode_record({b.data(), n}, fp(1), kDim).status, RecordStatus::kCorrupt) << "length " << n;
  EXPECT_EQ(decode_record(b, fp(2), kDim).status, RecordStatus::kOtherModel);
  EXPECT_EQ(decode_record(b, fp(1), kDim + 1).status, RecordStatus::kOtherDim);
}

TEST(HistoryStore, PersistsAcrossStoresOnTheSameClient) {
  auto db = std::make_shared<MemoryDatabase>();
  {
    Client a(db, 8);
    ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
    for (int i = 0; i < 5; ++i) append(a, i);
    EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  }
  Client b(db, 8);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  ASSERT_EQ(b.store.records().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b.store.records()[i].features, feature(i));
    EXPECT_EQ(b.store.records()[i].timestamp_ms, 1000.0 + i);
  }
  EXPECT_EQ(b.mirror.rows, (std::deque<uint64_t>{0, 1, 2, 3, 4}));
  // Another client id on the same database sees nothing of it.
  Client other(db, 8, fp(1), "u2");
  ASSERT_TRUE(run([&](Done d) { other.store.sync(d); }).ok());
  EXPECT_TRUE(other.store.records().empty());
}

TEST(HistoryStore, AppendWritesOneTransactionAndEvictsFifo) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 3);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  for (int i = 0; i < 7; ++i) {
    const size_t writes = db->writes, reads = db->reads;
    append(a, i);
    EXPECT_EQ(db->writes - writes, 1u) << "one transaction per append";
    EXPECT_EQ(db->reads - reads, 1u) << "one head read when nobody else wrote";
  }
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(stored_records(*db), 3u) << "evicted records are deleted";
  EXPECT_EQ(a.mirror.rows, (std::deque<uint64_t>{4, 5, 6}));
  EXPECT_EQ(a.mirror.resets, 0) << "appends never reset the observer";
}

TEST(HistoryStore, CorruptRecordsAreSkippedAndTheRestKept) {
  auto db = std::make_shared<MemoryDatabase>();
  {
    Client a(db, 10);
    ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
    for (int i = 0; i < 6; ++i) append(a, i);
  }
  db->entries[{"u1", 2}][70] ^= 0xFF;                 // a flipped feature byte
  db->entries[{"u1", 4}].resize(30);                   // torn write
  Client b(db, 10);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{0, 1, 3, 5}));
  EXPECT_EQ(b.store.records()[2].features, feature(3));
  ASSERT_EQ(b.warnings.size(), 2u);
  EXPECT_NE(b.warnings[0].find("record 2 skipped: checksum"), std::string::npos) << b.warnings[0];
  EXPECT_NE(b.warnings[1].find("record 4 skipped"), std::string::npos) << b.warnings[1];
  // Appending after them continues the sequence; the damaged records stay
  // skipped, with no repeated warning.
  append(b, 6);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{0, 1, 3, 5, 6}));
  EXPECT_EQ(b.warnings.size(), 2u);
}

TEST(HistoryStore, UnreadableHeadIsRebuiltWithoutLosingRecords) {
  auto db = std::make_shared<MemoryDatabase>();
  {
    Client a(db, 10);
    ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
    for (int i = 0; i < 3; ++i) append(a, i);
  }
  db->entries[{"u1", kHeadSeq}][9] ^= 1;
  Client b(db, 10);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{0, 1, 2}));
  append(b, 3);
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{0, 1, 2, 3})) << "no seq reused";
  ASSERT_FALSE(b.warnings.empty());
  EXPECT_NE(b.warnings[0].find("head unreadable"), std::string::npos);
}

TEST(HistoryStore, OtherModelsRecordsAreNeverReturned) {
  auto db = std::make_shared<MemoryDatabase>();
  {
    Client a(db, 4, fp(1));
    ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
    for (int i = 0; i < 3; ++i) append(a, i);
  }
  Client b(db, 4, fp(2));
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_TRUE(b.store.records().empty());
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("3 history record(s) written under another model"), std::string::npos);
  // The new model's appends push the old model's records out of the window.
  for (int i = 10; i < 14; ++i) append(b, i);
  EXPECT_EQ(b.store.records().size(), 4u);
  EXPECT_EQ(stored_records(*db), 4u);
  for (auto& [k, v] : db->entries) {
    if (k.second >= 0) {
      EXPECT_EQ(decode_record(v, fp(2), kDim).status, RecordStatus::kOk);
    }
  }
}

TEST(HistoryStore, QuotaErrorChangesNothing) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 4);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  for (int i = 0; i < 4; ++i) append(a, i);
  const auto before = db->entries;
  db->fail_writes_with_quota = 1;
  StoreStatus s = run([&](Done d) { a.store.append(feature(9), 0, d); });
  EXPECT_EQ(s.kind, StoreStatus::Kind::kQuota);
  EXPECT_EQ(db->entries, before) << "storage untouched";
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{0, 1, 2, 3})) << "memory untouched";
  EXPECT_EQ(a.mirror.rows, (std::deque<uint64_t>{0, 1, 2, 3}));
  append(a, 9);  // the disk has room again
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{1, 2, 3, 4}));
}

// Two stores (tabs) on one client, their operations serialised as the
// package does with a lock: each sees every record exactly once, in order,
// and following the other's appends costs appends, not a reload.
TEST(HistoryStore, TwoStoresInterleavingSeeEveryRecordOnce) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 16), b(db, 16);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  for (int i = 0; i < 10; ++i) append(i % 3 ? a : b, i);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  const std::vector<uint64_t> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(seqs(a.store), all);
  EXPECT_EQ(seqs(b.store), all);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.store.records()[i].features, feature(i));
  EXPECT_EQ(a.mirror.resets, 0);
  EXPECT_EQ(b.mirror.resets, 0);
  EXPECT_EQ(std::vector<uint64_t>(b.mirror.rows.begin(), b.mirror.rows.end()), all);
  // Window moving under both (capacity reached) still follows by appends.
  for (int i = 10; i < 30; ++i) append(i % 2 ? a : b, i);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  EXPECT_EQ(seqs(a.store).front(), 14u);
  EXPECT_EQ(seqs(a.store).back(), 29u);
  EXPECT_EQ(std::vector<uint64_t>(a.mirror.rows.begin(), a.mirror.rows.end()), seqs(a.store));
  EXPECT_EQ(a.mirror.resets, 0);
}

TEST(HistoryStore, ClearIsSeenByOtherStoresAndSeqsAreNotReused) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8), b(db, 8);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  for (int i = 0; i < 3; ++i) append(a, i);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(b.store.records().size(), 3u);
  ASSERT_TRUE(run([&](Done d) { a.store.clear(d); }).ok());
  EXPECT_EQ(stored_records(*db), 0u);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_TRUE(b.store.records().empty());
  EXPECT_TRUE(b.mirror.rows.empty());
  append(b, 5);
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{3}));
}

TEST(HistoryStore, ExportImportRoundTrip) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  for (int i = 0; i < 5; ++i) append(a, i);
  const Bytes blob = export_history(a.store.records(), fp(1));
  ASSERT_TRUE(run([&](Done d) { a.store.clear(d); }).ok());
  const size_t writes = db->writes;
  auto recs = parse_history_export(blob, fp(1), kDim, 1024);
  ASSERT_TRUE(run([&](Done d) { a.store.import(recs, d); }).ok());
  EXPECT_EQ(db->writes - writes, 1u) << "an import is one transaction";
  ASSERT_EQ(a.store.records().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.store.records()[i].features, feature(i));
    EXPECT_EQ(a.store.records()[i].timestamp_ms, 1000.0 + i);
  }
  Client b(db, 8);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(b.store.records().size(), 5u);
}

TEST(HistoryStore, ImportIsStrict) {
  std::deque<HistoryRecord> rs = {{0, 1, feature(0)}, {1, 2, feature(1)}};
  const Bytes blob = export_history(rs, fp(1));
  EXPECT_EQ(parse_history_export(blob, fp(1), kDim, 10).size(), 2u);
  test::expect_error([&] { parse_history_export(blob, fp(2), kDim, 10); }, ErrorCode::kInvalidArgument,
                     {"record 0", "another model"});
  Bytes flipped = blob;
  flipped[40] ^= 1;
  test::expect_error([&] { parse_history_export(flipped, fp(1), kDim, 10); }, ErrorCode::kFormat,
                     {"record 0", "checksum"});
  test::expect_error([&] { parse_history_export({blob.data(), blob.size() - 3}, fp(1), kDim, 10); },
                     ErrorCode::kFormat, {"record 1"});
  test::expect_error([&] { parse_history_export(blob, fp(1), kDim, 1); }, ErrorCode::kLimit, {"2 records"});
  Bytes junk(20, 'x');
  test::expect_error([&] { parse_history_export(junk, fp(1), kDim, 10); }, ErrorCode::kFormat, {"ICIIAHX1"});
}

TEST(Crc32, KnownValueAndEveryLengthAndSplitAgreeWithBitwise) {
  const char* s = "123456789";
  EXPECT_EQ(crc32({reinterpret_cast<const uint8_t*>(s), 9}), 0xCBF43926u);
  auto bitwise = [](std::span<const uint8_t> d) {
    uint32_t c = ~0u;
    for (uint8_t b : d) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
  };
  std::vector<uint8_t> data(71);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 89 + 3);
  for (size_t n = 0; n <= data.size(); ++n) {
    const std::span<const uint8_t> d(data.data(), n);
    EXPECT_EQ(crc32(d), bitwise(d)) << n;
    EXPECT_EQ(crc32(d.subspan(n / 3), crc32(d.first(n / 3))), bitwise(d)) << "split " << n;
  }
}

}  // namespace
}  // namespace iciia
