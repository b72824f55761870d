// Typed errors for everything that crosses the library boundary.
//
// The core throws iciia::Error; the wasm bindings catch it and turn the code
// into a typed JavaScript error, so the code is part of the public contract.
#pragma once

#include <stdexcept>
#include <string>

namespace iciia {

enum class ErrorCode {
  kInvalidArgument,  // caller passed something of the wrong size or kind
  kFormat,           // a file (weights, model, record) is malformed
  kShape,            // a tensor's shape disagrees with what the config implies
  kUnsupported,      // well-formed, but a feature this build does not implement
  kIo,               // the file system said no
  kLimit,            // a size bound (configurable) was exceeded
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace iciia
