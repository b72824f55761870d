#include "idb_backend.h"

#include <emscripten/emscripten.h>

#include <cstdlib>
#include <cstring>
#include <functional>

namespace {

// What idb_records.js calls back with; owned by the pending operation.
using Completion = std::function<void(int status, const uint8_t* data, size_t len)>;

}  // namespace

extern "C" {
void iciia_idb_get(const char* db, const char* client, const double* seqs, int count, void* ctx);
void iciia_idb_list(const char* db, const char* client, void* ctx);
void iciia_idb_write(const char* db, const char* client, const uint8_t* puts, size_t len, double erase_from,
                     double erase_to, int strict, void* ctx);
double iciia_idb_losses(const char* db);
char* iciia_idb_take_data_loss(const char* db, const char* client);  // malloc'ed UTF-8, or null

EMSCRIPTEN_KEEPALIVE void iciia_idb_complete(void* ctx, int status, const uint8_t* data, size_t len) {
  std::unique_ptr<Completion> done(static_cast<Completion*>(ctx));
  (*done)(status, data, len);
}
}

namespace iciia::wasm {
namespace {

void* pending(Completion c) { return new Completion(std::move(c)); }

StoreStatus status_of(int status, const uint8_t* data, size_t len) {
  if (status == 0) return {};
  return {status == 1 ? StoreStatus::Kind::kQuota : StoreStatus::Kind::kFailed,
          std::string(reinterpret_cast<const char*>(data), len)};
}

}  // namespace

void IdbBackend::get(std::vector<int64_t> seqs, GetDone done) {
  std::vector<double> keys(seqs.begin(), seqs.end());
  const size_t count = seqs.size();
  iciia_idb_get(database_.c_str(), client_.c_str(), keys.data(), int(count),
                pending([count, done = std::move(done)](int status, const uint8_t* data, size_t len) {
                  std::vector<std::optional<Bytes>> values(count);
                  if (status != 0) return done(status_of(status, data, len), std::move(values));
                  size_t at = 0;
                  for (size_t i = 0; i < count && at + 4 <= len; ++i) {
                    int32_t n;
                    std::memcpy(&n, data + at, 4);
                    at += 4;
                    if (n < 0) continue;
                    if (size_t(n) > len - at) break;  // cannot happen: the framing is ours
                    values[i] = Bytes(data + at, data + at + n);
                    at += size_t(n);
                  }
                  done({}, std::move(values));
                }));
}

void IdbBackend::list(ListDone done) {
  iciia_idb_list(database_.c_str(), client_.c_str(),
                 pending([done = std::move(done)](int status, const uint8_t* data, size_t len) {
                   std::vector<int64_t> seqs;
                   if (status != 0) return done(status_of(status, data, len), std::move(seqs));
                   for (size_t at = 0; at + 8 <= len; at += 8) {
                     double s;
                     std::memcpy(&s, data + at, 8);
                     seqs.push_back(int64_t(s));
                   }
                   done({}, std::move(seqs));
                 }));
}

void IdbBackend::write(std::vector<std::pair<int64_t, Bytes>> puts, int64_t erase_from, int64_t erase_to,
                       WriteDone done) {
  Bytes framed(4);
  const uint32_t count = uint32_t(puts.size());
  std::memcpy(framed.data(), &count, 4);
  for (const auto& [seq, bytes] : puts) {
    const size_t at = framed.size();
    framed.resize(at + 12 + bytes.size());
    const double key = double(seq);
    const uint32_t n = uint32_t(bytes.size());
    std::memcpy(framed.data() + at, &key, 8);
    std::memcpy(framed.data() + at + 8, &n, 4);
    if (n) std::memcpy(framed.data() + at + 12, bytes.data(), n);
  }
  iciia_idb_write(database_.c_str(), client_.c_str(), framed.data(), framed.size(), double(erase_from),
                  double(erase_to), strict_ ? 1 : 0, pending([done = std::move(done)](int status, const uint8_t* data, size_t len) {
                    done(status_of(status, data, len));
                  }));
}

uint64_t IdbBackend::losses() const { return uint64_t(iciia_idb_losses(database_.c_str())); }

std::string IdbBackend::take_data_loss() {
  char* text = iciia_idb_take_data_loss(database_.c_str(), client_.c_str());
  if (!text) return {};
  std::string out(text);
  std::free(text);
  return out;
}

}  // namespace iciia::wasm
