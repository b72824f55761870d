#include "store/history_store.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"
#include "util/sha256.h"

namespace iciia {

HistoryStore::HistoryStore(std::shared_ptr<RecordBackend> backend, const Fingerprint& fingerprint, int dim,
                           int capacity, HistoryObserver* observer, Warn warn)
    : backend_(std::move(backend)), fingerprint_(fingerprint), dim_(dim), capacity_(capacity),
      observer_(observer), warn_(std::move(warn)) {
  if (capacity < 1) throw Error(ErrorCode::kInvalidArgument, "history capacity must be at least 1");
  if (dim < 1 || uint32_t(dim) > kMaxRecordDim)
    throw Error(ErrorCode::kInvalidArgument, "history feature dim out of range: " + std::to_string(dim));
}

void HistoryStore::warn(const std::string& message) {
  if (warn_) warn_(message);
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

void HistoryStore::sync(Done done) {
  read_head([this, done = std::move(done)](StoreStatus st, bool changed) {
    if (!st.ok() || !changed) return done(st);
    refresh(std::move(done));
  });
}

// Lists the client's keys and fetches the window's records this store does
// not hold yet.
void HistoryStore::refresh(Done done) {
  backend_->list([this, done = std::move(done)](StoreStatus st, std::vector<int64_t> seqs) {
    if (!st.ok()) return done(st);
    // Storage may hold more than capacity (another tab with a larger one, or
    // a shrunk capacity): the window is the newest capacity_ keys.
    if (seqs.size() > size_t(capacity_)) seqs.erase(seqs.begin(), seqs.end() - capacity_);
    if (!seqs.empty()) head_.next_seq = std::max<uint64_t>(head_.next_seq, uint64_t(seqs.back()) + 1);
    std::vector<int64_t> missing;
    for (int64_t s : seqs) {
      const bool held = std::any_of(records_.begin(), records_.end(), [s](const HistoryRecord& r) { return int64_t(r.seq) == s; });
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
      loaded_ = true;
      done({});
    });
  });
}

// Builds the new row list for `window` (held rows are reused, fetched ones
// decoded) and tells the observer the cheapest way: appends when the old
// rows, trimmed FIFO-style, are followed only by new ones.
void HistoryStore::adopt(std::vector<int64_t> window, std::vector<std::optional<Bytes>> fetched) {
  std::deque<HistoryRecord> next;
  size_t other_model = 0;
  for (size_t i = 0; i < window.size(); ++i) {
    const int64_t s = window[i];
    if (!fetched[i]) {
      auto it = std::find_if(records_.begin(), records_.end(), [s](const HistoryRecord& r) { return int64_t(r.seq) == s; });
      if (it != records_.end()) next.push_back(*it);
      continue;  // deleted between list and get: gone
    }
    DecodedRecord d = decode_record(*fetched[i], fingerprint_, uint32_t(dim_));
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

  // Incremental when appending the rows newer than the old newest to the
  // observer's FIFO (capacity_) yields exactly `next`.
  size_t first_new = 0;
  if (!records_.empty())
    while (first_new < next.size() && next[first_new].seq <= records_.back().seq) ++first_new;
  std::vector<uint64_t> simulated;
  for (const HistoryRecord& r : records_) simulated.push_back(r.seq);
  for (size_t i = first_new; i < next.size(); ++i) simulated.push_back(next[i].seq);
  if (simulated.size() > size_t(capacity_)) simulated.erase(simulated.begin(), simulated.end() - capacity_);
  bool incremental = simulated.size() == next.size();
  for (size_t i = 0; incremental && i < next.size(); ++i) incremental = simulated[i] == next[i].seq;
  records_ = std::move(next);
  if (!observer_) return;
  if (incremental) {
    for (size_t i = first_new; i < records_.size(); ++i) observer_->history_appended(records_[i]);
  } else {
    observer_->history_reset(records_);
  }
}

void HistoryStore::append(std::vector<float> features, double timestamp_ms, Done done) {
  if (features.size() != size_t(dim_))
    throw Error(ErrorCode::kInvalidArgument, "history append: expected " + std::to_string(dim_) + " features, got " +
                                                 std::to_string(features.size()));
  std::vector<HistoryRecord> fresh(1);
  fresh[0].timestamp_ms = timestamp_ms;
  fresh[0].features = std::move(features);
  sync([this, fresh = std::move(fresh), done = std::move(done)](StoreStatus st) mutable {
    if (!st.ok()) return done(st);
    write_records(std::move(fresh), std::move(done));
  });
}

void HistoryStore::import(std::vector<HistoryRecord> records, Done done) {
  sync([this, records = std::move(records), done = std::move(done)](StoreStatus st) mutable {
    if (!st.ok()) return done(st);
    // Only the newest capacity_ can survive; write just those.
    if (records.size() > size_t(capacity_)) records.erase(records.begin(), records.end() - capacity_);
    if (records.empty()) return done({});
    write_records(std::move(records), std::move(done));
  });
}

// Assigns seqs after the head and writes records + head + eviction in one
// transaction; memory changes only once storage said yes.
void HistoryStore::write_records(std::vector<HistoryRecord> fresh, Done done) {
  uint64_t next = head_.next_seq;
  if (!records_.empty()) next = std::max<uint64_t>(next, records_.back().seq + 1);
  std::vector<std::pair<int64_t, Bytes>> puts;
  for (HistoryRecord& r : fresh) {
    r.seq = next++;
    puts.emplace_back(int64_t(r.seq), encode_record(r, fingerprint_));
  }
  HistoryHead head{next, head_.generation};
  puts.emplace_back(kHeadSeq, encode_head(head));
  const int64_t erase_to = int64_t(next) - capacity_;  // keys below leave the window
  backend_->write(std::move(puts), 0, erase_to,
                  [this, fresh = std::move(fresh), head, done = std::move(done)](StoreStatus st) mutable {
                    if (!st.ok()) return done(st);
                    head_ = head;
                    head_seen_ = true;
                    for (HistoryRecord& r : fresh) {
                      records_.push_back(std::move(r));
                      if (records_.size() > size_t(capacity_)) records_.pop_front();
                      if (observer_) observer_->history_appended(records_.back());
                    }
                    done({});
                  });
}

void HistoryStore::clear(Done done) {
  sync([this, done = std::move(done)](StoreStatus st) mutable {
    if (!st.ok()) return done(st);
    const uint64_t next = std::max<uint64_t>(head_.next_seq, records_.empty() ? 0 : records_.back().seq + 1);
    HistoryHead head{next, head_.generation + 1};
    std::vector<std::pair<int64_t, Bytes>> puts;
    puts.emplace_back(kHeadSeq, encode_head(head));
    backend_->write(std::move(puts), 0, INT64_MAX, [this, head, done = std::move(done)](StoreStatus st2) {
      if (!st2.ok()) return done(st2);
      head_ = head;
      head_seen_ = true;
      records_.clear();
      if (observer_) observer_->history_reset(records_);
      done({});
    });
  });
}

std::vector<uint8_t> export_history(const std::deque<HistoryRecord>& records, const Fingerprint& fingerprint) {
  std::vector<uint8_t> out(16);
  std::memcpy(out.data(), "ICIIAHX1", 8);
  const uint32_t count = uint32_t(records.size()), zero = 0;
  std::memcpy(out.data() + 8, &count, 4);
  std::memcpy(out.data() + 12, &zero, 4);
  for (const HistoryRecord& r : records) {
    const Bytes b = encode_record(r, fingerprint);
    const uint32_t len = uint32_t(b.size());
    const size_t at = out.size();
    out.resize(at + 4 + b.size());
    std::memcpy(out.data() + at, &len, 4);
    std::memcpy(out.data() + at + 4, b.data(), b.size());
  }
  return out;
}

std::vector<HistoryRecord> parse_history_export(std::span<const uint8_t> in, const Fingerprint& fingerprint,
                                                uint32_t dim, size_t max_records) {
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
    DecodedRecord d = decode_record(in.subspan(at, len), fingerprint, dim);
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
