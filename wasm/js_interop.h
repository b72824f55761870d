// Helpers every binding file shares: typed errors across the boundary and
// copies between JS typed arrays and wasm memory.
//
// guard() turns iciia::Error into a JavaScript Error whose `code` is the
// ErrorCode name, so the web package can rethrow it as a typed error.
#pragma once

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <string>
#include <vector>

#include "util/error.h"

namespace iciia::wasm {

using emscripten::val;

[[noreturn]] inline void throw_js(const char* code, const std::string& message) {
  val error = val::global("Error").new_(val(message));
  error.set("code", val(code));
  error.throw_();
}

template <typename F>
auto guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const iciia::Error& e) {
    throw_js(iciia::error_code_name(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    throw_js("OutOfMemory", "iciia: out of WebAssembly memory");
  } catch (const std::exception& e) {
    throw_js("Internal", std::string("iciia: internal error: ") + e.what());
  }
}

// Copies a JS Uint8Array / Float32Array (or any array-like of numbers) into wasm memory.
template <typename T>
std::vector<T> copy_in(const val& array, const char* what) {
  if (array.isUndefined() || array.isNull() || !array["length"].isNumber())
    throw iciia::Error(iciia::ErrorCode::kInvalidArgument, std::string(what) + ": expected a typed array");
  const size_t n = array["length"].as<size_t>();
  std::vector<T> out(n);
  val(emscripten::typed_memory_view(n, out.data())).call<void>("set", array);
  return out;
}

inline val copy_out(const std::vector<float>& v) {
  return val::global("Float32Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
}

inline val copy_out(const std::vector<double>& v) {
  return val::global("Float64Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
}

inline val copy_out(const std::vector<uint8_t>& v) {
  return val::global("Uint8Array").new_(emscripten::typed_memory_view(v.size(), v.data()));
}

}  // namespace iciia::wasm
