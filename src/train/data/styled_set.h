// A styled copy of a data set (`iciia extract --styles N --style-images M`):
// M images of the set, each under N styles (style.h), style-major. Each entry
// remembers its style and its source image, so `iciia eval` can build style
// clients (one style, many images) and repeat clients (one image, several
// views) from the same file.
#pragma once

#include <cstdint>
#include <vector>

#include "train/data/dataset.h"
#include "train/data/style.h"

namespace iciia::train::data {

struct StyledDataset {
  Dataset data;                  // N * M images: entry s * M + j is source image j under style s
  std::vector<int32_t> styles;   // per entry, in [0, N)
  std::vector<int32_t> sources;  // per entry, the index of its image in the original set
  std::vector<Style> params;     // the N styles
};

// Bounds what one call may allocate: N * M entries at most.
inline constexpr int64_t kMaxStyledEntries = 2'000'000;

// M images drawn without replacement from `set` by `seed` (sorted by index),
// N styles drawn from the same seed. kInvalidArgument for N < 1, M < 1,
// M above the set's size, or N * M above kMaxStyledEntries.
StyledDataset styled_dataset(const Dataset& set, int styles, int images, uint64_t seed);

}  // namespace iciia::train::data
