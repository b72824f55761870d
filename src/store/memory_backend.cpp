#include "store/memory_backend.h"

namespace iciia {

void MemoryBackend::get(std::vector<int64_t> seqs, GetDone done) {
  ++db_->reads;
  std::vector<std::optional<Bytes>> out;
  for (int64_t s : seqs) {
    auto it = db_->entries.find({client_, s});
    out.push_back(it == db_->entries.end() ? std::nullopt : std::optional<Bytes>(it->second));
  }
  done({}, std::move(out));
}

void MemoryBackend::list(ListDone done) {
  ++db_->reads;
  std::vector<int64_t> seqs;
  for (auto it = db_->entries.lower_bound({client_, 0}); it != db_->entries.end() && it->first.first == client_; ++it)
    seqs.push_back(it->first.second);
  done({}, std::move(seqs));
}

void MemoryBackend::write(std::vector<std::pair<int64_t, Bytes>> puts, int64_t erase_from, int64_t erase_to,
                          WriteDone done) {
  if (db_->fail_writes_with_quota > 0) {
    --db_->fail_writes_with_quota;
    done({StoreStatus::Kind::kQuota, "QuotaExceededError: injected"});
    return;
  }
  ++db_->writes;
  for (auto& [seq, bytes] : puts) db_->entries[{client_, seq}] = bytes;
  if (erase_from < erase_to)
    db_->entries.erase(db_->entries.lower_bound({client_, std::max<int64_t>(erase_from, 0)}),
                       db_->entries.lower_bound({client_, erase_to}));
  done({});
}

}  // namespace iciia
