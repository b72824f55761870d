// RecordBackend over IndexedDB (idb_records.js): the browser's, a worker's,
// or fake-indexeddb's in Node — one code path for all three.
#pragma once

#include <string>

#include "store/record_backend.h"

namespace iciia::wasm {

class IdbBackend : public RecordBackend {
 public:
  // strict: commits ask IndexedDB for durability 'strict' (complete once
  // flushed to disk), else 'relaxed' (README, "Durability").
  IdbBackend(std::string database, std::string client, bool strict = true)
      : database_(std::move(database)), client_(std::move(client)), strict_(strict) {}

  void get(std::vector<int64_t> seqs, GetDone done) override;
  void list(ListDone done) override;
  void write(std::vector<std::pair<int64_t, Bytes>> puts, int64_t erase_from, int64_t erase_to,
             WriteDone done) override;
  uint64_t losses() const override;
  std::string take_data_loss() override;

 private:
  std::string database_, client_;
  bool strict_;
};

}  // namespace iciia::wasm
