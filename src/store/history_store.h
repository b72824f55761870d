// One client's bounded FIFO history of records (features and the backbone's
// logits), persisted one record per key through a RecordBackend (IndexedDB in
// the browser and in Node). docs/design.md, "History store".
//
// Guarantees (the tests exercise each):
//  - a record is staged first: it gets its seq and the observer sees it at
//    once, so the next query uses it; its transaction follows, off the
//    caller's critical path. Staged records are written in call order, all
//    that waited in one transaction (the records, the head, the deletion of
//    what falls out of the window), never the whole history;
//  - when a commit callback reports success, the record is stored; when it
//    reports an error (a full disk, say), the record is gone from memory too
//    and storage did not change: memory never holds a record that storage
//    refused;
//  - a torn or corrupt record is skipped with a warning; the rest is kept;
//  - records written under another model's fingerprint are never returned;
//  - storage deleted from outside (site data cleared, the database deleted
//    by another tab; RecordBackend::losses) is noticed by the next
//    operation: the rows it had read are dropped, with a warning, never
//    written back; a loss the storage itself reports when it is opened
//    (RecordBackend::take_data_loss) is warned when the store first loads,
//    once per client and process;
//  - several stores on one client (tabs) see each other's records: every
//    operation first syncs with storage (one head read when nothing changed).
//    The caller must serialise read-modify-write across stores (Web Locks in
//    the browser, a mutex in one process) from the sync before a stage until
//    its commit has completed: two stores that both read the same head would
//    both claim its next seq.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <span>

#include "store/history_record.h"
#include "store/record_backend.h"

namespace iciia {

// The remembered rows, oldest first: a view into the store (valid until its
// next operation). Not std::ranges::subrange, which clang 14 (the fuzz
// build) cannot compile against libstdc++ 12.
class RecordWindow {
 public:
  using iterator = std::deque<HistoryRecord>::const_iterator;
  RecordWindow(iterator first, iterator last) : first_(first), last_(last) {}
  iterator begin() const { return first_; }
  iterator end() const { return last_; }
  size_t size() const { return static_cast<size_t>(last_ - first_); }
  bool empty() const { return first_ == last_; }
  const HistoryRecord& operator[](size_t i) const { return first_[static_cast<std::ptrdiff_t>(i)]; }
  const HistoryRecord& front() const { return *first_; }
  const HistoryRecord& back() const { return *(last_ - 1); }

 private:
  iterator first_, last_;
};

// Told how the remembered rows change, so caches built over them (the ICIIA
// k/v rows, the backbone's posteriors) follow without rebuilding for the
// common case of appends.
class HistoryObserver {
 public:
  virtual ~HistoryObserver() = default;
  // Appended at the end; the oldest rows beyond capacity fell off the front.
  virtual void history_appended(const HistoryRecord& record) = 0;
  // Anything else (cleared, a record removed mid-window, a commit that
  // failed): here is all of it.
  virtual void history_reset(RecordWindow records) = 0;
};

using Warn = std::function<void(const std::string&)>;
using Done = std::function<void(StoreStatus)>;

class HistoryStore {
 public:
  // `classes`: the logit count records carry (0 accepts none).
  HistoryStore(std::shared_ptr<RecordBackend> backend, const HistoryTags& tags, int dim, int classes, int capacity,
               HistoryObserver* observer = nullptr, Warn warn = {});

  // Brings the in-memory rows up to date with storage (the first call loads).
  // Reads storage even when exclusive if the storage was deleted meanwhile.
  void sync(Done done);
  // Stages `record` as the newest: claims its seq (returned) and shows it to
  // the observer now; `committed` runs once its transaction completed (or
  // failed: the record is then removed again). Call after a successful sync,
  // within the cross-store lock, and hold the lock until `committed` ran.
  // Throws kInvalidArgument for features or logits of the wrong size.
  uint64_t stage(HistoryRecord record, Done committed);
  // sync, stage, and done once durable. Operations (sync, stage, append,
  // clear, import) must not overlap; commits of staged records may be
  // outstanding while they run.
  void append(HistoryRecord record, Done done);
  // After the staged records are written: deletes every record of the client
  // (other tabs see it on their next sync). Frees room first: the records and
  // the head go in one transaction, the new head in a second, so a full disk
  // cannot stop a clear.
  void clear(Done done);
  // After the staged records are written: appends records (e.g. from an
  // export) in order, in one transaction.
  void import(std::vector<HistoryRecord> records, Done done);
  // Runs `done` once no staged record is waiting for its transaction.
  void drain(Done done);
  // The caller holds the cross-store lock and synced under it: nobody else
  // writes, so sync() completes without reading storage until this is reset.
  void set_exclusive(bool exclusive) { exclusive_ = exclusive; }

  // The window: at most capacity rows, oldest first, staged ones included.
  RecordWindow records() const;
  size_t staged() const { return staged_; }
  int capacity() const { return capacity_; }
  int dim() const { return dim_; }
  int classes() const { return classes_; }
  const HistoryTags& tags() const { return tags_; }
  bool loaded() const { return loaded_; }

 private:
  size_t durable() const { return rows_.size() - staged_; }
  void check(const HistoryRecord& record) const;
  void read_head(std::function<void(StoreStatus, bool changed)> then);
  void refresh(Done done);
  void adopt(std::vector<int64_t> window, std::vector<std::optional<Bytes>> values);
  void push_staged(HistoryRecord record, Done committed);
  void write_staged();
  bool noticed_loss();
  void wrote(StoreStatus status, HistoryHead head, size_t count);
  void when_drained(std::function<void()> then);
  void warn(const std::string& message);

  std::shared_ptr<RecordBackend> backend_;
  HistoryTags tags_;
  int dim_, classes_, capacity_;
  HistoryObserver* observer_;
  Warn warn_;

  // Durable rows (at most capacity_ of them), then the staged_ newest rows
  // that are not durable yet; the first writing_ of those are in the
  // transaction in flight. commit_done_ holds one callback per staged row.
  std::deque<HistoryRecord> rows_;
  size_t staged_ = 0, writing_ = 0;
  std::deque<Done> commit_done_;
  std::vector<std::function<void()>> drained_;
  HistoryHead head_;       // as last read or written
  uint64_t next_seq_ = 0;  // the next seq to claim (never handed out twice by this store)
  bool head_seen_ = false; // head_ came from an intact stored head
  bool loaded_ = false;
  bool exclusive_ = false;
  uint64_t losses_seen_ = 0;  // backend_->losses() when last checked
  std::set<int64_t> reported_;  // seqs already warned about (warn once)
};

// Export format "iciia-history/1" (binary, little-endian):
//   "ICIIAHX1" (8 bytes), u32 count, u32 reserved = 0,
//   then per record: u32 length, that many bytes of one record as stored
//   (history_record.h, any version this build reads: with its own
//   fingerprint and checksum).
std::vector<uint8_t> export_history(RecordWindow records, const Fingerprint& backbone);
// Strict, unlike loading from storage: any corrupt record, a record of
// another model or a malformed container is a kFormat / kInvalidArgument
// error naming the record, and nothing is imported. Version-1 records come
// back with empty logits.
std::vector<HistoryRecord> parse_history_export(std::span<const uint8_t> bytes, const HistoryTags& tags, uint32_t dim,
                                                uint32_t classes, size_t max_records);

}  // namespace iciia
