#include "store/history_store.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"
#include "util/sha256.h"

namespace iciia {

HistoryStore::HistoryStore(std::shared_ptr<RecordBackend> backend, const HistoryTags& tags, int dim, int classes,
                           int capacity, HistoryObserver* observer, Warn warn)
    : backend_(std::move(backend)), tags_(tags), dim_(dim), classes_(classes), capacity_(capacity),
      observer_(observer), warn_(std::move(warn)), losses_seen_(backend_->losses()) {
  if (capacity < 1) throw Error(ErrorCode::kInvalidArgument, "history capacity must be at least 1");
  if (dim < 1 || uint32_t(dim) > kMaxRecordDim)
    throw Error(ErrorCode::kInvalidArgument, "history feature dim out of range: " + std::to_string(dim));
  if (classes < 0 || uint32_t(classes) > kMaxRecordClasses)
    throw Error(ErrorCode::kInvalidArgument, "history class count out of range: " + std::to_string(classes));
}

void HistoryStore::warn(const std::string& message) {
  if (warn_) warn_(message);
}

namespace {

// The window holds the records whose seq is at least next - capacity: a seq
// range, so storage (which evicts by key range) and every tab agree on it
// whatever gaps failed commits or skipped records left.
uint64_t window_start(uint64_t next_seq, int capacity) {
  return next_seq > uint64_t(capacity) ? next_seq - uint64_t(capacity) : 0;
}

}  // namespace

RecordWindow HistoryStore::records() const {
  const uint64_t lower = window_start(next_seq_, capacity_);
  const auto first = std::partition_point(rows_.cbegin(), rows_.cend(), [lower](const HistoryRecord& r) { return r.seq < lower; });
  return {first, rows_.cend()};
}

void HistoryStore::check(const HistoryRecord& r) const {
  if (r.features.size() != size_t(dim_))
    throw Error(ErrorCode::kInvalidArgument, "history: expected " + std::to_string(dim_) + " features, got " +
                                                 std::to_string(r.features.size()));
  if (!r.logits.empty() && r.logits.size() != size_t(classes_))
    throw Error(ErrorCode::kInvalidArgument, "history: expected " + std::to_string(classes_) + " logits, got " +
                                                 std::to_string(r.logits.size()));
}

// Reads the head; `changed` is false when it matches what this store last
// saw, so nobody else has written since (the one-read fast path).
void HistoryStore::read_head(std::function<void(StoreStatus, bool)> then) {
  backend_->get({kHeadSeq}, [this, then = std::move(then)](StoreStatus st, std::vector<std::optional<Bytes>> v) {
    if (!st.ok()) return then(st, false);
    HistoryHead head;
    std::string why;
    const bool valid = !v.empty() && v[0] && decode_head(*v[0], &head, &why);
    if (!valid && !v.empty() && v[0] && reported_.insert(kHeadSeq).second)
      warn("history head unreadable (" + why + "); rebuilding it from the stored records");
    const bool absent = v.empty() || !v[0];
    const bool changed = !loaded_ || (absent ? head_seen_ : !valid || !head_seen_ || head.next_seq != head_.next_seq ||
                                                             head.generation != head_.generation);
    if (valid) head_ = head;
    head_seen_ = valid;
    then({}, changed);
  });
}

// Storage was deleted from outside since the last check: the durable rows
// read from it are gone there, so they go from memory too (the user asked
// for them to be deleted: using or rewriting them would resurrect them).
// Staged rows stay: they are newer than the deletion and their transaction
// writes them into the new, empty storage. next_seq_ is kept, so seqs never
// go back.
bool HistoryStore::noticed_loss() {
  const uint64_t losses = backend_->losses();
  if (losses == losses_seen_) return false;
  losses_seen_ = losses;
  if (!loaded_) return true;
  const size_t dropped = durable();
  rows_.erase(rows_.begin(), rows_.begin() + std::ptrdiff_t(durable()));
  head_seen_ = false;
  reported_.clear();
  if (observer_) observer_->history_reset(records());
  warn("the stored history was deleted outside this recognizer (site data cleared, or the database deleted from "
       "another tab): starting an empty history; " + std::to_string(dropped) + " record(s) dropped from memory");
  return true;
}

void HistoryStore::sync(Done done) {
  const bool lost = noticed_loss();
  if (exclusive_ && loaded_ && !lost) return done({});
  read_head([this, lost, done = std::move(done)](StoreStatus st, bool changed) {
    if (!st.ok() || !(changed || lost)) return done(st);
    refresh(std::move(done));
  });
}

// Lists the client's keys and fetches the window's records this store does
// not hold yet.
void HistoryStore::refresh(Done done) {
  backend_->list([this, done = std::move(done)](StoreStatus st, std::vector<int64_t> seqs) {
    if (!st.ok()) return done(st);
    // Our own staged records are newer than anything stored, and stay ours.
    if (staged_) {
      const int64_t first_staged = int64_t(rows_[durable()].seq);
      seqs.erase(std::lower_bound(seqs.begin(), seqs.end(), first_staged), seqs.end());
    }
    if (!seqs.empty()) head_.next_seq = std::max<uint64_t>(head_.next_seq, uint64_t(seqs.back()) + 1);
    // Storage may hold older keys (another tab with a larger capacity, a
    // shrunk capacity): the window starts at next - capacity.
    const uint64_t lower = window_start(head_.next_seq, capacity_);
    seqs.erase(seqs.begin(), std::lower_bound(seqs.begin(), seqs.end(), int64_t(lower)));
    std::vector<int64_t> missing;
    for (int64_t s : seqs) {
      const bool held = std::any_of(rows_.begin(), rows_.end(), [s](const HistoryRecord& r) { return int64_t(r.seq) == s; });
      if (!held) missing.push_back(s);
    }
    backend_->get(missing, [this, seqs = std::move(seqs), missing, done = std::move(done)](
                               StoreStatus st2, std::vector<std::optional<Bytes>> values) mutable {
      if (!st2.ok()) return done(st2);
      // Splice the fetched values into the window order.
      std::vector<std::optional<Bytes>> window(seqs.size());
      for (size_t i = 0, j = 0; i < seqs.size(); ++i)
        if (j < missing.size() && missing[j] == seqs[i]) window[i] = std::move(values[j++]);
      adopt(std::move(seqs), std::move(window));
      if (!loaded_) {
        // A loss the storage reported on opening (not one of ours to notice
        // later): what it held before is gone for good, and the user should
        // hear it rather than find an empty history.
        if (const std::string lost = backend_->take_data_loss(); !lost.empty())
          warn("the browser reported losing this site's stored data when it opened the database (" + lost +
               "); the history holds only what was recorded since");
      }
      loaded_ = true;
      done({});
    });
  });
}

// Builds the new row list for `window` (held rows are reused, fetched ones
// decoded), keeps the staged rows after it, and tells the observer the
// cheapest way: appends when the old window, trimmed FIFO-style, is followed
// only by new rows.
void HistoryStore::adopt(std::vector<int64_t> window, std::vector<std::optional<Bytes>> fetched) {
  std::deque<HistoryRecord> next;
  size_t other_model = 0;
  for (size_t i = 0; i < window.size(); ++i) {
    const int64_t s = window[i];
    if (!fetched[i]) {
      auto it = std::find_if(rows_.begin(), rows_.end(), [s](const HistoryRecord& r) { return int64_t(r.seq) == s; });
      if (it != rows_.end()) next.push_back(*it);
      continue;  // deleted between list and get: gone
    }
    DecodedRecord d = decode_record(*fetched[i], tags_, uint32_t(dim_), uint32_t(classes_));
    if (d.status == RecordStatus::kOk && int64_t(d.record.seq) != s) {
      d.status = RecordStatus::kCorrupt;
      d.reason = "stored under seq " + std::to_string(s) + " but says " + std::to_string(d.record.seq);
    }
    if (d.status == RecordStatus::kOk) {
      next.push_back(std::move(d.record));
    } else if (d.status == RecordStatus::kOtherModel) {
      ++other_model;
    } else if (reported_.insert(s).second) {
      warn("history record " + std::to_string(s) + " skipped: " + d.reason);
    }
  }
  if (other_model && reported_.insert(-2).second)
    warn(std::to_string(other_model) + " history record(s) written under another model ignored");
  for (size_t i = durable(); i < rows_.size(); ++i) next.push_back(std::move(rows_[i]));

  std::vector<uint64_t> simulated;
  for (const HistoryRecord& r : records()) simulated.push_back(r.seq);
  const uint64_t newest = rows_.empty() ? 0 : rows_.back().seq;
  const bool had_rows = !rows_.empty();
  rows_ = std::move(next);
  next_seq_ = std::max(head_.next_seq, rows_.empty() ? 0 : rows_.back().seq + 1);
  if (!observer_) return;
  // Incremental when appending the rows newer than the old newest to the
  // observer's FIFO (capacity_) yields exactly the new window.
  const RecordWindow now = records();
  std::vector<const HistoryRecord*> fresh;
  for (const HistoryRecord& r : now)
    if (!had_rows || r.seq > newest) fresh.push_back(&r);
  for (const HistoryRecord* r : fresh) simulated.push_back(r->seq);
  if (simulated.size() > size_t(capacity_)) simulated.erase(simulated.begin(), simulated.end() - capacity_);
  bool incremental = simulated.size() == now.size();
  for (size_t i = 0; incremental && i < now.size(); ++i) incremental = simulated[i] == now[i].seq;
  if (incremental) {
    for (const HistoryRecord* r : fresh) observer_->history_appended(*r);
  } else {
    observer_->history_reset(now);
  }
}

// Adds a staged row and tells the observer: an append when the window moves
// like a FIFO of capacity_ (no gaps in its seqs), else the whole window.
void HistoryStore::push_staged(HistoryRecord record, Done committed) {
  const RecordWindow before = records();
  const bool full = before.size() == size_t(capacity_);
  const uint64_t lower_after = window_start(next_seq_ + 1, capacity_);
  const bool drops_front = !before.empty() && before.front().seq < lower_after;
  record.seq = next_seq_++;
  rows_.push_back(std::move(record));
  ++staged_;
  commit_done_.push_back(std::move(committed));
  if (!observer_) return;
  if (full == drops_front)
    observer_->history_appended(rows_.back());
  else
    observer_->history_reset(records());
}

uint64_t HistoryStore::stage(HistoryRecord record, Done committed) {
  if (!loaded_) throw Error(ErrorCode::kInvalidArgument, "history: a record staged before the first sync");
  check(record);
  push_staged(std::move(record), std::move(committed));
  const uint64_t seq = rows_.back().seq;
  if (!writing_) write_staged();
  return seq;
}

void HistoryStore::append(HistoryRecord record, Done done) {
  check(record);
  sync([this, record = std::move(record), done = std::move(done)](StoreStatus st) mutable {
    if (!st.ok()) return done(st);
    stage(std::move(record), std::move(done));
  });
}

void HistoryStore::import(std::vector<HistoryRecord> records, Done done) {
  for (const HistoryRecord& r : records) check(r);
  when_drained([this, records = std::move(records), done = std::move(done)]() mutable {
    sync([this, records = std::move(records), done = std::move(done)](StoreStatus st) mutable {
      if (!st.ok()) return done(st);
      // Only the newest capacity_ can survive; write just those.
      if (records.size() > size_t(capacity_)) records.erase(records.begin(), records.end() - capacity_);
      if (records.empty()) return done({});
      // Staged together while nothing is in flight: one transaction, whose
      // outcome the last record's callback reports for all of them.
      for (size_t i = 0; i < records.size(); ++i)
        push_staged(std::move(records[i]), i + 1 == records.size() ? std::move(done) : Done{});
      write_staged();
    });
  });
}

// Writes every staged row not yet written, with the head and the deletion of
// what leaves the window, in one transaction.
void HistoryStore::write_staged() {
  writing_ = staged_;
  const size_t first = durable();
  std::vector<std::pair<int64_t, Bytes>> puts;
  for (size_t i = first; i < first + writing_; ++i)
    puts.emplace_back(int64_t(rows_[i].seq), encode_record(rows_[i], tags_.backbone));
  const HistoryHead head{rows_[first + writing_ - 1].seq + 1, head_.generation};
  puts.emplace_back(kHeadSeq, encode_head(head));
  const int64_t erase_to = int64_t(window_start(head.next_seq, capacity_));
  const size_t count = writing_;
  backend_->write(std::move(puts), 0, erase_to, [this, head, count](StoreStatus st) { wrote(st, head, count); });
}

void HistoryStore::wrote(StoreStatus st, HistoryHead head, size_t count) {
  writing_ = 0;
  const size_t first = durable();
  std::vector<Done> done(std::make_move_iterator(commit_done_.begin()),
                         std::make_move_iterator(commit_done_.begin() + std::ptrdiff_t(count)));
  commit_done_.erase(commit_done_.begin(), commit_done_.begin() + std::ptrdiff_t(count));
  staged_ -= count;
  if (st.ok()) {
    head_ = head;
    head_seen_ = true;
    // Storage deleted what left its window; memory follows.
    const uint64_t lower = window_start(head_.next_seq, capacity_);
    while (durable() > 0 && rows_.front().seq < lower) rows_.pop_front();
  } else {
    // Storage did not change: neither does memory. The batch's seqs are free
    // again unless newer rows were staged meanwhile (a gap then).
    rows_.erase(rows_.begin() + std::ptrdiff_t(first), rows_.begin() + std::ptrdiff_t(first + count));
    next_seq_ = std::max(head_.next_seq, rows_.empty() ? 0 : rows_.back().seq + 1);
    if (observer_) observer_->history_reset(records());
  }
  for (Done& d : done)
    if (d) d(st);
  if (staged_ && !writing_) write_staged();
  if (!staged_ && !drained_.empty()) {
    auto waiting = std::move(drained_);
    drained_.clear();
    for (auto& then : waiting) then();
  }
}

void HistoryStore::when_drained(std::function<void()> then) {
  if (!staged_)
    then();
  else
    drained_.push_back(std::move(then));
}

void HistoryStore::drain(Done done) {
  when_drained([done = std::move(done)] { done({}); });
}

void HistoryStore::clear(Done done) {
  when_drained([this, done = std::move(done)]() mutable {
    sync([this, done = std::move(done)](StoreStatus st) mutable {
      if (!st.ok()) return done(st);
      // Deletions first, the head with them: they need no room, so a full
      // disk cannot stop them; and a missing head tells other tabs too.
      backend_->write({}, kHeadSeq, INT64_MAX, [this, done = std::move(done)](StoreStatus st2) mutable {
        if (!st2.ok()) return done(st2);
        const HistoryHead head{next_seq_, head_.generation + 1};
        head_ = head;
        head_seen_ = false;
        rows_.clear();
        if (observer_) observer_->history_reset(records());
        // The new head keeps seqs from being reused; without it (no room even
        // now) the history is still empty, and the next append writes one.
        std::vector<std::pair<int64_t, Bytes>> puts;
        puts.emplace_back(kHeadSeq, encode_head(head));
        backend_->write(std::move(puts), 0, 0, [this, done = std::move(done)](StoreStatus st3) {
          if (st3.ok())
            head_seen_ = true;
          else warn("history cleared, but its head could not be written (" + st3.message + ")");
          done({});
        });
      });
    });
  });
}

std::vector<uint8_t> export_history(RecordWindow records, const Fingerprint& backbone) {
  std::vector<uint8_t> out(16);
  std::memcpy(out.data(), "ICIIAHX1", 8);
  const uint32_t count = uint32_t(records.size()), zero = 0;
  std::memcpy(out.data() + 8, &count, 4);
  std::memcpy(out.data() + 12, &zero, 4);
  for (const HistoryRecord& r : records) {
    const Bytes b = encode_record(r, backbone);
    const uint32_t len = uint32_t(b.size());
    const size_t at = out.size();
    out.resize(at + 4 + b.size());
    std::memcpy(out.data() + at, &len, 4);
    std::memcpy(out.data() + at + 4, b.data(), b.size());
  }
  return out;
}

std::vector<HistoryRecord> parse_history_export(std::span<const uint8_t> in, const HistoryTags& tags, uint32_t dim,
                                                uint32_t classes, size_t max_records) {
  auto fail = [](ErrorCode code, const std::string& m) { throw Error(code, "history import: " + m); };
  if (in.size() < 16 || std::memcmp(in.data(), "ICIIAHX", 7) != 0)
    fail(ErrorCode::kFormat, "not an iciia-web history export (expected the 'ICIIAHX1' header)");
  if (in[7] != '1') fail(ErrorCode::kUnsupported, std::string("export format version '") + char(in[7]) + "', this build reads '1'");
  uint32_t count;
  std::memcpy(&count, in.data() + 8, 4);
  if (count > max_records)
    fail(ErrorCode::kLimit, std::to_string(count) + " records, more than the " + std::to_string(max_records) + " accepted");
  std::vector<HistoryRecord> out;
  size_t at = 16;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len;
    if (in.size() - at < 4) fail(ErrorCode::kFormat, "cut short before record " + std::to_string(i) + " (byte " + std::to_string(at) + ")");
    std::memcpy(&len, in.data() + at, 4);
    at += 4;
    if (in.size() - at < len)
      fail(ErrorCode::kFormat, "record " + std::to_string(i) + " says " + std::to_string(len) + " bytes, only " +
                                   std::to_string(in.size() - at) + " remain");
    DecodedRecord d = decode_record(in.subspan(at, len), tags, dim, classes);
    if (d.status == RecordStatus::kOtherModel)
      fail(ErrorCode::kInvalidArgument, "record " + std::to_string(i) +
                                            " was written under another model; a history only imports into the model that wrote it");
    if (d.status != RecordStatus::kOk) fail(ErrorCode::kFormat, "record " + std::to_string(i) + ": " + d.reason);
    out.push_back(std::move(d.record));
    at += len;
  }
  if (at != in.size()) fail(ErrorCode::kFormat, std::to_string(in.size() - at) + " stray bytes after the last record");
  return out;
}

}  // namespace iciia
