// One client's bounded FIFO history of feature vectors, persisted one record
// per key through a RecordBackend (IndexedDB in the browser and in Node).
//
// Guarantees (the tests exercise each):
//  - append writes one record and the head in one transaction (plus the
//    deletion of what falls out of the window), never the whole history;
//  - when an operation's callback reports success, what it wrote is stored;
//    when it reports an error (a full disk, say) nothing changed, in storage
//    or in memory;
//  - a torn or corrupt record is skipped with a warning; the rest is kept;
//  - records written under another model's fingerprint are never returned;
//  - several stores on one client (tabs) see each other's records: every
//    operation first syncs with storage (one head read when nothing changed).
//    The caller must serialise read-modify-write across stores (Web Locks in
//    the browser, a mutex in one process): two appends that both read the
//    same head would both claim its next seq.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <span>

#include "store/history_record.h"
#include "store/record_backend.h"

namespace iciia {

// Told how the remembered rows change, so a cache built over them (the ICIIA
// k/v rows) follows without rebuilding for the common case of appends.
class HistoryObserver {
 public:
  virtual ~HistoryObserver() = default;
  // Appended at the end; the oldest rows beyond capacity fell off the front.
  virtual void history_appended(const HistoryRecord& record) = 0;
  // Anything else (cleared, a record removed mid-window): here is all of it.
  virtual void history_reset(const std::deque<HistoryRecord>& records) = 0;
};

using Warn = std::function<void(const std::string&)>;
using Done = std::function<void(StoreStatus)>;

class HistoryStore {
 public:
  HistoryStore(std::shared_ptr<RecordBackend> backend, const Fingerprint& fingerprint, int dim, int capacity,
               HistoryObserver* observer = nullptr, Warn warn = {});

  // Brings the in-memory rows up to date with storage (the first call loads).
  void sync(Done done);
  // Syncs, then durably appends `features` as the newest record.
  void append(std::vector<float> features, double timestamp_ms, Done done);
  // Deletes every record of the client (other tabs see it on their next sync).
  void clear(Done done);
  // Appends records (e.g. from an export) in order, in one transaction.
  void import(std::vector<HistoryRecord> records, Done done);

  const std::deque<HistoryRecord>& records() const { return records_; }
  int capacity() const { return capacity_; }
  int dim() const { return dim_; }
  const Fingerprint& fingerprint() const { return fingerprint_; }
  bool loaded() const { return loaded_; }

 private:
  void read_head(std::function<void(StoreStatus, bool changed)> then);
  void refresh(Done done);
  void adopt(std::vector<int64_t> window, std::vector<std::optional<Bytes>> values);
  void write_records(std::vector<HistoryRecord> fresh, Done done);
  void warn(const std::string& message);

  std::shared_ptr<RecordBackend> backend_;
  Fingerprint fingerprint_;
  int dim_, capacity_;
  HistoryObserver* observer_;
  Warn warn_;

  std::deque<HistoryRecord> records_;  // valid rows, oldest first, at most capacity_
  HistoryHead head_;                   // as last read or written
  bool head_seen_ = false;             // head_ came from an intact stored head
  bool loaded_ = false;
  std::set<int64_t> reported_;  // seqs already warned about (warn once)
};

// Export format "iciia-history/1" (binary, little-endian):
//   "ICIIAHX1" (8 bytes), u32 count, u32 reserved = 0,
//   then per record: u32 length, that many bytes of one record as stored
//   (history_record.h: with its own fingerprint and checksum).
std::vector<uint8_t> export_history(const std::deque<HistoryRecord>& records, const Fingerprint& fingerprint);
// Strict, unlike loading from storage: any corrupt record, a record of
// another model or a malformed container is a kFormat / kInvalidArgument
// error naming the record, and nothing is imported.
std::vector<HistoryRecord> parse_history_export(std::span<const uint8_t> bytes, const Fingerprint& fingerprint,
                                                uint32_t dim, size_t max_records);

}  // namespace iciia
