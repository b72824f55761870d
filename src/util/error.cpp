#include "util/error.h"

namespace iciia {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kFormat: return "FormatError";
    case ErrorCode::kShape: return "ShapeError";
    case ErrorCode::kUnsupported: return "Unsupported";
    case ErrorCode::kIo: return "IoError";
    case ErrorCode::kLimit: return "LimitError";
  }
  return "Error";
}

}  // namespace iciia
