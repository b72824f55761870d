#include "train/data/styled_set.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <string>

#include "util/error.h"

namespace iciia::train::data {

StyledDataset styled_dataset(const Dataset& set, int styles, int images, uint64_t seed) {
  const int64_t available = static_cast<int64_t>(set.images.size());
  if (styles < 1 || images < 1)
    throw Error(ErrorCode::kInvalidArgument, "styled set: --styles (" + std::to_string(styles) + ") and --style-images (" +
                                                 std::to_string(images) + ") must be at least 1");
  if (images > available)
    throw Error(ErrorCode::kInvalidArgument, "styled set: --style-images " + std::to_string(images) + " but " +
                                                 set.source + " has " + std::to_string(available) + " images");
  if (static_cast<int64_t>(styles) * images > kMaxStyledEntries)
    throw Error(ErrorCode::kLimit, "styled set: " + std::to_string(styles) + " styles x " + std::to_string(images) +
                                       " images exceeds " + std::to_string(kMaxStyledEntries) + " entries");
  std::mt19937_64 rng(seed);
  // Partial Fisher-Yates with a portable modulo draw.
  std::vector<int64_t> order(static_cast<size_t>(available));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = 0; i < images; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng() % static_cast<uint64_t>(available - i));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  std::vector<int64_t> chosen(order.begin(), order.begin() + images);
  std::sort(chosen.begin(), chosen.end());

  StyledDataset out;
  for (int s = 0; s < styles; ++s) out.params.push_back(draw_style(rng));
  out.data.source = set.source + " styled(" + std::to_string(styles) + "x" + std::to_string(images) + ", seed " +
                    std::to_string(seed) + ")";
  out.data.class_names = set.class_names;
  const size_t total = static_cast<size_t>(styles) * static_cast<size_t>(images);
  out.data.images.reserve(total);
  out.data.labels.reserve(total);
  out.styles.reserve(total);
  out.sources.reserve(total);
  for (int s = 0; s < styles; ++s)
    for (int64_t src : chosen) {
      out.data.images.push_back(apply_style(set.images[static_cast<size_t>(src)], out.params[static_cast<size_t>(s)],
                                            static_cast<uint64_t>(src)));
      out.data.labels.push_back(set.labels[static_cast<size_t>(src)]);
      out.styles.push_back(s);
      out.sources.push_back(static_cast<int32_t>(src));
    }
  return out;
}

}  // namespace iciia::train::data
