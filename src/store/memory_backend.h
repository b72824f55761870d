// RecordBackend over a std::map shared by any number of backends of the same
// "database" (like two tabs on one origin). Completes synchronously unless
// deferred, which lets native tests interleave two stores' operations and
// inject faults (quota errors, flipped or cut bytes).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>

#include "store/record_backend.h"

namespace iciia {

struct MemoryDatabase {
  std::map<std::pair<std::string, int64_t>, Bytes> entries;  // (client, seq) → bytes
  int fail_writes_with_quota = 0;  // the next N writes fail like a full disk
  bool full = false;  // a full disk: every write that stores something fails; deletions alone go through
  size_t writes = 0, reads = 0;
  uint64_t losses = 0;  // times drop() ran
  std::string data_loss;  // what the "browser" reported losing when it opened the database
  std::set<std::string> told_data_loss;  // the clients that took it
  // Everything deleted from outside, as when the user clears the site's data.
  void drop() {
    entries.clear();
    ++losses;
  }
};

class MemoryBackend : public RecordBackend {
 public:
  MemoryBackend(std::shared_ptr<MemoryDatabase> db, std::string client, bool deferred = false)
      : db_(std::move(db)), client_(std::move(client)), deferred_(deferred) {}

  void get(std::vector<int64_t> seqs, GetDone done) override;
  void list(ListDone done) override;
  void write(std::vector<std::pair<int64_t, Bytes>> puts, int64_t erase_from, int64_t erase_to,
             WriteDone done) override;
  uint64_t losses() const override { return db_->losses; }
  std::string take_data_loss() override {
    return db_->told_data_loss.insert(client_).second ? db_->data_loss : std::string();
  }

  // Deferred mode: runs queued operations, oldest first; returns how many ran.
  size_t run_pending(size_t max = SIZE_MAX);
  size_t pending() const { return queue_.size(); }

 private:
  void submit(std::function<void()> op);

  std::shared_ptr<MemoryDatabase> db_;
  std::string client_;
  bool deferred_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace iciia
