// Where history records live: one client's key space of (seq → bytes),
// seq -1 being the head. In the browser and in Node this is IndexedDB
// (wasm/idb_backend.*, one key per record); natively an in-memory map.
//
// Every operation is asynchronous (IndexedDB is) and completes exactly once
// through its callback, possibly before the call returns.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace iciia {

inline constexpr int64_t kHeadSeq = -1;

struct StoreStatus {
  enum class Kind { kOk, kQuota, kFailed };
  Kind kind = Kind::kOk;
  std::string message;
  bool ok() const { return kind == Kind::kOk; }
};

using Bytes = std::vector<uint8_t>;

class RecordBackend {
 public:
  virtual ~RecordBackend() = default;

  using GetDone = std::function<void(StoreStatus, std::vector<std::optional<Bytes>>)>;
  using ListDone = std::function<void(StoreStatus, std::vector<int64_t>)>;
  using WriteDone = std::function<void(StoreStatus)>;

  // The values stored under `seqs`, in that order (nullopt when absent), read
  // in one transaction.
  virtual void get(std::vector<int64_t> seqs, GetDone done) = 0;
  // Every record seq (>= 0) stored for this client, ascending.
  virtual void list(ListDone done) = 0;
  // One atomic transaction: store `puts`, then delete every key in
  // [erase_from, erase_to) (record seqs; erase_from = kHeadSeq takes the head
  // too). Either all of it lands or none of it.
  virtual void write(std::vector<std::pair<int64_t, Bytes>> puts, int64_t erase_from, int64_t erase_to,
                     WriteDone done) = 0;
  // How often the storage was deleted from outside since this process
  // opened it (site data cleared, the database deleted from another tab).
  // A change means every record this store had read may be gone; it must
  // not be kept, nor written back.
  virtual uint64_t losses() const { return 0; }
  // What the storage reported losing when this process opened it, empty if
  // nothing: Chromium deletes an IndexedDB database it finds corrupt (after
  // a crash, say), opens an empty one and says so on the open request
  // (`dataLoss: 'total'` and a message). Meaningful once an operation has
  // completed. Taken: each client hears it once per process, so a
  // recognizer reopened on the same page does not report the loss anew.
  virtual std::string take_data_loss() { return {}; }
};

}  // namespace iciia
