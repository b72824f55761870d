// RecordBackend over a std::map shared by any number of backends of the same
// "database" (like two tabs on one origin). Completes synchronously; native
// tests inject faults (quota errors, flipped or cut bytes) through the
// database.
#pragma once

#include <map>
#include <memory>

#include "store/record_backend.h"

namespace iciia {

struct MemoryDatabase {
  std::map<std::pair<std::string, int64_t>, Bytes> entries;  // (client, seq) → bytes
  int fail_writes_with_quota = 0;  // the next N writes fail like a full disk
  size_t writes = 0, reads = 0;
};

class MemoryBackend : public RecordBackend {
 public:
  MemoryBackend(std::shared_ptr<MemoryDatabase> db, std::string client)
      : db_(std::move(db)), client_(std::move(client)) {}

  void get(std::vector<int64_t> seqs, GetDone done) override;
  void list(ListDone done) override;
  void write(std::vector<std::pair<int64_t, Bytes>> puts, int64_t erase_from, int64_t erase_to,
             WriteDone done) override;

 private:
  std::shared_ptr<MemoryDatabase> db_;
  std::string client_;
};

}  // namespace iciia
