#include "store/history_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "store/crc32.h"
#include "store/memory_backend.h"
#include "history_v1_record.h"
#include "test_support.h"

namespace iciia {
namespace {

constexpr int kDim = 6;
constexpr int kClasses = 3;

Fingerprint fp(uint8_t b) {
  Fingerprint f;
  f.fill(b);
  return f;
}

// A model's tags: its backbone's fingerprint and its bundle's.
HistoryTags tags(uint8_t b) { return {fp(b), fp(uint8_t(b + 0x80))}; }

std::vector<float> feature(int i) {
  std::vector<float> v(kDim);
  for (int k = 0; k < kDim; ++k) v[k] = float(i) + 0.125f * k;
  return v;
}

std::vector<float> logits(int i) { return {float(i), -0.5f * float(i), 0.25f}; }

HistoryRecord record(int i) { return {0, 1000.0 + i, feature(i), logits(i)}; }

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
  void history_reset(RecordWindow all) override {
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
  Client(std::shared_ptr<MemoryDatabase> db, int capacity, HistoryTags t = tags(1), std::string id = "u1",
         bool deferred = false)
      : backend(std::make_shared<MemoryBackend>(db, id, deferred)), mirror(capacity),
        store(backend, t, kDim, kClasses, capacity, &mirror, [this](const std::string& w) { warnings.push_back(w); }) {}
};

StoreStatus run(const std::function<void(Done)>& op) {
  std::optional<StoreStatus> got;
  op([&](StoreStatus s) { got = s; });
  EXPECT_TRUE(got.has_value()) << "operation did not complete";
  return got.value_or(StoreStatus{StoreStatus::Kind::kFailed, "pending"});
}

void append(Client& c, int i) {
  StoreStatus s = run([&](Done d) { c.store.append(record(i), d); });
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
  HistoryRecord r{7, 1234.5, feature(3), logits(3)};
  const Bytes b = encode_record(r, tags(1).backbone);
  ASSERT_EQ(b.size(), 64u + (kDim + kClasses) * 4 + 4);
  DecodedRecord d = decode_record(b, tags(1), kDim, kClasses);
  ASSERT_EQ(d.status, RecordStatus::kOk) << d.reason;
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(d.record.seq, 7u);
  EXPECT_EQ(d.record.timestamp_ms, 1234.5);
  EXPECT_EQ(d.record.features, r.features);
  EXPECT_EQ(d.record.logits, r.logits);
  // Any single flipped byte is detected.
  for (size_t i = 0; i < b.size(); ++i) {
    Bytes x = b;
    x[i] ^= 0x10;
    EXPECT_EQ(decode_record(x, tags(1), kDim, kClasses).status, RecordStatus::kCorrupt) << "byte " << i;
  }
  // Every truncation is detected.
  for (size_t n = 0; n < b.size(); ++n)
    EXPECT_EQ(decode_record({b.data(), n}, tags(1), kDim, kClasses).status, RecordStatus::kCorrupt) << "length " << n;
  EXPECT_EQ(decode_record(b, tags(2), kDim, kClasses).status, RecordStatus::kOtherModel);
  // Version 2 is tagged by the backbone alone: another bundle fingerprint
  // (a new ICIIA module) does not matter.
  EXPECT_EQ(decode_record(b, {tags(1).backbone, fp(9)}, kDim, kClasses).status, RecordStatus::kOk);
  EXPECT_EQ(decode_record(b, tags(1), kDim + 1, kClasses).status, RecordStatus::kOtherDim);
  EXPECT_EQ(decode_record(b, tags(1), kDim, kClasses + 1).status, RecordStatus::kOtherDim);
  // A record without logits (from version 1) is written with none.
  const Bytes bare = encode_record({8, 1.0, feature(4), {}}, tags(1).backbone);
  d = decode_record(bare, tags(1), kDim, kClasses);
  ASSERT_EQ(d.status, RecordStatus::kOk) << d.reason;
  EXPECT_TRUE(d.record.logits.empty());
  Bytes infinite = encode_record({9, 1.0, feature(4), {1.f, INFINITY, 0.f}}, tags(1).backbone);
  EXPECT_EQ(decode_record(infinite, tags(1), kDim, kClasses).status, RecordStatus::kCorrupt);
}

TEST(HistoryRecord, Version1RecordsStayReadable) {
  const Bytes v1 = test::v1_record(5, 99.5, feature(2), tags(1).bundle);
  DecodedRecord d = decode_record(v1, tags(1), kDim, kClasses);
  ASSERT_EQ(d.status, RecordStatus::kOk) << d.reason;
  EXPECT_EQ(d.version, 1);
  EXPECT_EQ(d.record.seq, 5u);
  EXPECT_EQ(d.record.timestamp_ms, 99.5);
  EXPECT_EQ(d.record.features, feature(2));
  EXPECT_TRUE(d.record.logits.empty());
  // Version 1 was tagged with the whole bundle: the backbone's alone is not it.
  EXPECT_EQ(decode_record(v1, {tags(1).bundle, fp(3)}, kDim, kClasses).status, RecordStatus::kOtherModel);
  EXPECT_EQ(decode_record(v1, tags(1), kDim + 1, kClasses).status, RecordStatus::kOtherDim);
  Bytes reserved = v1;
  reserved[60] = 1;
  const uint32_t crc = crc32({reserved.data(), reserved.size() - 4});
  std::memcpy(reserved.data() + reserved.size() - 4, &crc, 4);
  EXPECT_EQ(decode_record(reserved, tags(1), kDim, kClasses).status, RecordStatus::kCorrupt);
  Bytes v3 = v1;
  v3[4] = 3;
  const uint32_t crc3 = crc32({v3.data(), v3.size() - 4});
  std::memcpy(v3.data() + v3.size() - 4, &crc3, 4);
  d = decode_record(v3, tags(1), kDim, kClasses);
  EXPECT_EQ(d.status, RecordStatus::kCorrupt);
  EXPECT_NE(d.reason.find("version 3"), std::string::npos) << d.reason;
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
    EXPECT_EQ(b.store.records()[i].logits, logits(i));
    EXPECT_EQ(b.store.records()[i].timestamp_ms, 1000.0 + i);
  }
  EXPECT_EQ(b.mirror.rows, (std::deque<uint64_t>{0, 1, 2, 3, 4}));
  // Another client id on the same database sees nothing of it.
  Client other(db, 8, tags(1), "u2");
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
    Client a(db, 4, tags(1));
    ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
    for (int i = 0; i < 3; ++i) append(a, i);
  }
  Client b(db, 4, tags(2));
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
      EXPECT_EQ(decode_record(v, tags(2), kDim, kClasses).status, RecordStatus::kOk);
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
  StoreStatus s = run([&](Done d) { a.store.append(record(9), d); });
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

// The user clears the site's data (or another tab deletes the database)
// while a store holds the lock with its history in memory: the next
// operation notices, says so, starts empty, and never writes the deleted
// records back; seqs keep rising.
TEST(HistoryStore, StorageDeletedFromOutsideIsNoticedAndNothingComesBack) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8), b(db, 8);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  for (int i = 0; i < 5; ++i) append(a, i);
  a.store.set_exclusive(true);  // holds the lock: sync() would read nothing
  db->drop();
  EXPECT_TRUE(a.warnings.empty()) << "noticed at the next operation, not before";
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  ASSERT_EQ(a.warnings.size(), 1u);
  EXPECT_NE(a.warnings[0].find("deleted outside"), std::string::npos) << a.warnings[0];
  EXPECT_NE(a.warnings[0].find("5 record(s)"), std::string::npos) << a.warnings[0];
  EXPECT_TRUE(a.store.records().empty());
  EXPECT_TRUE(a.mirror.rows.empty()) << "the observer (the ICIIA cache) dropped them too";
  append(a, 7);
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{5})) << "seqs go on after the deleted ones";
  EXPECT_EQ(stored_records(*db), 1u) << "none of the deleted records written back";
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  EXPECT_EQ(a.warnings.size(), 1u) << "one warning per deletion";
  // A store that had not loaded before the deletion has nothing to drop;
  // one that had (b) drops and warns at its next sync, and sees a's new record.
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{5}));
  Client c(db, 8);
  ASSERT_TRUE(run([&](Done d) { c.store.sync(d); }).ok());
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(seqs(c.store), (std::vector<uint64_t>{5}));
}

// The browser itself lost the data before the page ran (Chromium deletes a
// database it finds corrupt and reports dataLoss on the open): each store
// says so once, when it first loads, and works on with what is there.
TEST(HistoryStore, DataLossReportedByTheStorageIsSaidOncePerClientOnFirstLoad) {
  auto db = std::make_shared<MemoryDatabase>();
  db->data_loss = "dataLoss total: corrupt backing store";
  Client a(db, 8);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  ASSERT_EQ(a.warnings.size(), 1u);
  EXPECT_NE(a.warnings[0].find("reported losing"), std::string::npos) << a.warnings[0];
  EXPECT_NE(a.warnings[0].find("corrupt backing store"), std::string::npos) << a.warnings[0];
  append(a, 0);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  EXPECT_EQ(a.warnings.size(), 1u) << "once per store, not per operation";
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{0}));
  // A second store on the same client (a recognizer reopened on the page)
  // is not told again; another client, whose history went too, is.
  Client again(db, 8);
  ASSERT_TRUE(run([&](Done d) { again.store.sync(d); }).ok());
  EXPECT_TRUE(again.warnings.empty()) << again.warnings[0];
  EXPECT_EQ(seqs(again.store), (std::vector<uint64_t>{0}));
  Client other(db, 8, tags(1), "u2");
  ASSERT_TRUE(run([&](Done d) { other.store.sync(d); }).ok());
  ASSERT_EQ(other.warnings.size(), 1u);
  EXPECT_NE(other.warnings[0].find("corrupt backing store"), std::string::npos) << other.warnings[0];
  // Without a report, no warning.
  auto clean = std::make_shared<MemoryDatabase>();
  Client b(clean, 8);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_TRUE(b.warnings.empty());
}

// A record staged before the deletion and written after it is newer than
// the deletion: it is kept (in memory and in storage), the older ones are not.
TEST(HistoryStore, RecordStagedAcrossADeletionIsKept) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8, tags(1), "u1", /*deferred=*/true);
  a.store.sync([](StoreStatus) {});
  a.backend->run_pending();
  for (int i = 0; i < 3; ++i) {
    a.store.append(record(i), [](StoreStatus) {});
    a.backend->run_pending();
  }
  ASSERT_EQ(stored_records(*db), 3u);
  std::optional<StoreStatus> committed;
  a.store.stage(record(3), [&](StoreStatus s) { committed = s; });
  db->drop();
  a.backend->run_pending();
  ASSERT_TRUE(committed && committed->ok());
  std::optional<StoreStatus> synced;
  a.store.sync([&](StoreStatus s) { synced = s; });
  a.backend->run_pending();
  a.backend->run_pending();
  ASSERT_TRUE(synced && synced->ok());
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{3}));
  EXPECT_EQ(stored_records(*db), 1u);
  EXPECT_EQ(a.warnings.size(), 1u);
}

TEST(HistoryStore, ExportImportRoundTrip) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  for (int i = 0; i < 5; ++i) append(a, i);
  const Bytes blob = export_history(a.store.records(), tags(1).backbone);
  ASSERT_TRUE(run([&](Done d) { a.store.clear(d); }).ok());
  const size_t writes = db->writes;
  auto recs = parse_history_export(blob, tags(1), kDim, kClasses, 1024);
  ASSERT_TRUE(run([&](Done d) { a.store.import(recs, d); }).ok());
  EXPECT_EQ(db->writes - writes, 1u) << "an import is one transaction";
  ASSERT_EQ(a.store.records().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.store.records()[i].features, feature(i));
    EXPECT_EQ(a.store.records()[i].logits, logits(i));
    EXPECT_EQ(a.store.records()[i].timestamp_ms, 1000.0 + i);
  }
  Client b(db, 8);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(b.store.records().size(), 5u);
}

TEST(HistoryStore, ImportIsStrict) {
  std::deque<HistoryRecord> rs = {record(0), record(1)};
  rs[1].seq = 1;
  const Bytes blob = export_history({rs.cbegin(), rs.cend()}, tags(1).backbone);
  EXPECT_EQ(parse_history_export(blob, tags(1), kDim, kClasses, 10).size(), 2u);
  test::expect_error([&] { parse_history_export(blob, tags(2), kDim, kClasses, 10); }, ErrorCode::kInvalidArgument,
                     {"record 0", "another model"});
  Bytes flipped = blob;
  flipped[40] ^= 1;
  test::expect_error([&] { parse_history_export(flipped, tags(1), kDim, kClasses, 10); }, ErrorCode::kFormat,
                     {"record 0", "checksum"});
  test::expect_error([&] { parse_history_export({blob.data(), blob.size() - 3}, tags(1), kDim, kClasses, 10); },
                     ErrorCode::kFormat, {"record 1"});
  test::expect_error([&] { parse_history_export(blob, tags(1), kDim, kClasses, 1); }, ErrorCode::kLimit, {"2 records"});
  Bytes junk(20, 'x');
  test::expect_error([&] { parse_history_export(junk, tags(1), kDim, kClasses, 10); }, ErrorCode::kFormat, {"ICIIAHX1"});
}

// An export of the previous release (version-1 records, the bundle's
// fingerprint) imports; the records come back without logits and are
// written as version 2 under the backbone's fingerprint.
TEST(HistoryStore, OldExportsImport) {
  Bytes blob(16, 0);
  std::memcpy(blob.data(), "ICIIAHX1", 8);
  const uint32_t count = 2;
  std::memcpy(blob.data() + 8, &count, 4);
  for (int i = 0; i < 2; ++i) {
    const Bytes r = test::v1_record(uint64_t(i), 500.0 + i, feature(i), tags(1).bundle);
    const uint32_t len = uint32_t(r.size());
    blob.insert(blob.end(), reinterpret_cast<const uint8_t*>(&len), reinterpret_cast<const uint8_t*>(&len) + 4);
    blob.insert(blob.end(), r.begin(), r.end());
  }
  auto recs = parse_history_export(blob, tags(1), kDim, kClasses, 10);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].logits.empty());
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  append(a, 7);
  ASSERT_TRUE(run([&](Done d) { a.store.import(recs, d); }).ok());
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(a.store.records()[2].features, feature(1));
  EXPECT_EQ(a.store.records()[2].timestamp_ms, 501.0);
  const DecodedRecord stored = decode_record(db->entries.at({"u1", 2}), {tags(1).backbone, fp(0)}, kDim, kClasses);
  ASSERT_EQ(stored.status, RecordStatus::kOk) << stored.reason;
  EXPECT_EQ(stored.version, 2);
  EXPECT_TRUE(stored.record.logits.empty());
  // Another bundle's version-1 export is refused.
  test::expect_error([&] { parse_history_export(blob, tags(2), kDim, kClasses, 10); }, ErrorCode::kInvalidArgument,
                     {"another model"});
}

// Version-1 records left in storage by the previous release load beside
// the version-2 records written since.
TEST(HistoryStore, Version1RecordsInStorageLoadBesideNewOnes) {
  auto db = std::make_shared<MemoryDatabase>();
  for (int i = 0; i < 3; ++i) db->entries[{"u1", i}] = test::v1_record(uint64_t(i), 10.0 + i, feature(i), tags(1).bundle);
  db->entries[{"u1", kHeadSeq}] = encode_head({3, 0});
  Client a(db, 4);
  ASSERT_TRUE(run([&](Done d) { a.store.sync(d); }).ok());
  append(a, 3);
  append(a, 4);
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(a.store.records()[0].logits.empty());
  EXPECT_EQ(a.store.records()[3].logits, logits(4));
  Client b(db, 4);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(b.warnings.empty());
  // A new ICIIA module (same backbone, another bundle fingerprint) keeps the
  // version-2 records and cannot vouch for the version-1 ones.
  Client c(db, 4, {tags(1).backbone, fp(42)});
  ASSERT_TRUE(run([&](Done d) { c.store.sync(d); }).ok());
  EXPECT_EQ(seqs(c.store), (std::vector<uint64_t>{3, 4}));
}

// Staging: the record is visible (and has its seq) at once; its transaction
// follows; records staged while one is in flight go together in the next.
TEST(HistoryStore, StagedRecordsAreSeenAtOnceAndCommittedInOrder) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 8, tags(1), "u1", /*deferred=*/true);
  std::optional<StoreStatus> synced;
  a.store.sync([&](StoreStatus s) { synced = s; });
  a.backend->run_pending();
  ASSERT_TRUE(synced && synced->ok());
  std::vector<std::pair<uint64_t, bool>> committed;
  for (int i = 0; i < 3; ++i) {
    const uint64_t seq = a.store.stage(record(i), [&, i](StoreStatus s) { committed.emplace_back(uint64_t(i), s.ok()); });
    EXPECT_EQ(seq, uint64_t(i));
  }
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(a.mirror.rows, (std::deque<uint64_t>{0, 1, 2}));
  EXPECT_EQ(a.store.staged(), 3u);
  EXPECT_EQ(stored_records(*db), 0u) << "nothing durable yet";
  EXPECT_TRUE(committed.empty());
  a.backend->run_pending(1);  // the first record's transaction
  EXPECT_EQ(committed, (std::vector<std::pair<uint64_t, bool>>{{0, true}}));
  EXPECT_EQ(stored_records(*db), 1u);
  a.backend->run_pending();   // the other two, in one transaction
  EXPECT_EQ(committed, (std::vector<std::pair<uint64_t, bool>>{{0, true}, {1, true}, {2, true}}));
  EXPECT_EQ(db->writes, 2u);
  EXPECT_EQ(a.store.staged(), 0u);
  Client b(db, 8);
  ASSERT_TRUE(run([&](Done d) { b.store.sync(d); }).ok());
  EXPECT_EQ(seqs(b.store), (std::vector<uint64_t>{0, 1, 2}));
}

// A commit that fails takes its record out of memory again, brings back
// what it had pushed out of the window, and leaves storage as it was;
// records staged after it still land. Memory then equals a fresh load.
TEST(HistoryStore, FailedCommitLeavesMemoryAndStorageConsistent) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 3, tags(1), "u1", /*deferred=*/true);
  a.store.sync([](StoreStatus) {});
  a.backend->run_pending();
  for (int i = 0; i < 3; ++i) a.store.stage(record(i), [](StoreStatus) {});
  a.backend->run_pending();
  ASSERT_EQ(seqs(a.store), (std::vector<uint64_t>{0, 1, 2}));
  const auto before = db->entries;
  db->fail_writes_with_quota = 1;
  std::optional<StoreStatus> first, second;
  EXPECT_EQ(a.store.stage(record(3), [&](StoreStatus s) { first = s; }), 3u);
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{1, 2, 3})) << "seen before it is durable";
  a.backend->run_pending(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind, StoreStatus::Kind::kQuota);
  EXPECT_EQ(db->entries, before) << "storage untouched";
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{0, 1, 2})) << "the evicted record is back, the failed one gone";
  EXPECT_EQ(a.mirror.rows, (std::deque<uint64_t>{0, 1, 2}));
  // Staged behind a failing one: it lands.
  db->fail_writes_with_quota = 1;
  a.store.stage(record(4), [&](StoreStatus s) { first = s; });
  a.store.stage(record(5), [&](StoreStatus s) { second = s; });
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{2, 3, 4}));
  a.backend->run_pending();
  EXPECT_EQ(first->kind, StoreStatus::Kind::kQuota);
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->ok()) << second->message;
  Client fresh(db, 3);
  ASSERT_TRUE(run([&](Done d) { fresh.store.sync(d); }).ok());
  EXPECT_EQ(seqs(a.store), seqs(fresh.store));
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{2, 4})) << "the window is a seq range: the failed seq 3 is a gap";
  EXPECT_EQ(a.mirror.rows, (std::deque<uint64_t>{2, 4}));
  EXPECT_EQ(stored_records(*db), 2u);
}

// clear() and import() wait for the staged records' transactions, and a
// clear frees room on a full disk: recording resumes after it.
TEST(HistoryStore, ClearWaitsForCommitsAndWorksOnAFullDisk) {
  auto db = std::make_shared<MemoryDatabase>();
  Client a(db, 4, tags(1), "u1", /*deferred=*/true);
  Client other(db, 4);
  a.store.sync([](StoreStatus) {});
  a.backend->run_pending();
  for (int i = 0; i < 3; ++i) a.store.stage(record(i), [](StoreStatus) {});
  std::optional<StoreStatus> cleared;
  a.store.clear([&](StoreStatus s) { cleared = s; });
  a.backend->run_pending(1);
  EXPECT_FALSE(cleared.has_value()) << "waits for the staged records";
  a.backend->run_pending();
  ASSERT_TRUE(cleared && cleared->ok());
  EXPECT_EQ(stored_records(*db), 0u);

  for (int i = 3; i < 7; ++i) a.store.stage(record(i), [](StoreStatus) {});
  a.backend->run_pending();
  ASSERT_TRUE(run([&](Done d) { other.store.sync(d); }).ok());
  EXPECT_EQ(other.store.records().size(), 4u);
  db->full = true;
  std::optional<StoreStatus> refused;
  a.store.stage(record(7), [&](StoreStatus s) { refused = s; });
  a.backend->run_pending();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, StoreStatus::Kind::kQuota);
  EXPECT_EQ(seqs(a.store), (std::vector<uint64_t>{3, 4, 5, 6})) << "earlier records kept";
  cleared.reset();
  a.store.clear([&](StoreStatus s) { cleared = s; });
  a.backend->run_pending();
  ASSERT_TRUE(cleared.has_value());
  EXPECT_TRUE(cleared->ok()) << cleared->message;
  EXPECT_EQ(stored_records(*db), 0u);
  EXPECT_TRUE(a.store.records().empty());
  ASSERT_FALSE(a.warnings.empty());
  EXPECT_NE(a.warnings.back().find("head could not be written"), std::string::npos) << a.warnings.back();
  // Another tab notices (the head is gone with the records).
  ASSERT_TRUE(run([&](Done d) { other.store.sync(d); }).ok());
  EXPECT_TRUE(other.store.records().empty());
  db->full = false;
  std::optional<StoreStatus> resumed;
  EXPECT_EQ(a.store.stage(record(8), [&](StoreStatus s) { resumed = s; }), 7u)
      << "after the last durable seq (6); 7 was never stored";
  a.backend->run_pending();
  ASSERT_TRUE(resumed && resumed->ok());
  ASSERT_TRUE(run([&](Done d) { other.store.sync(d); }).ok());
  EXPECT_EQ(seqs(other.store), (std::vector<uint64_t>{7}));
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
