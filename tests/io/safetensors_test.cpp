// Tests for the safetensors reader/writer and the atomic file helpers: round trips, a Python
// cross-check, and a table of corrupted files that must each raise a clear recur::Error.
#include "io/safetensors.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "recur/error.hpp"

namespace recur::io {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "recur_st_XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs fn, expecting E whose message contains every piece.
template <typename E>
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& pieces) {
  try {
    fn();
    ADD_FAILURE() << "no exception thrown; expected one containing '" << pieces.at(0) << "'";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const std::string& p : pieces)
      EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

template <typename T>
RawTensor make_raw(DType dtype, Shape shape, const std::vector<T>& values) {
  RawTensor t{dtype, std::move(shape), Bytes(values.size() * sizeof(T))};
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

// A file from a header text and a data buffer.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes out(8 + header.size() + data.size());
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(n >> (8 * i));
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

Bytes read_all(const std::string& path) { return read_file(path); }

void write_all(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

SafetensorsFile parse(const Bytes& b) { return parse_safetensors(b, "model.safetensors"); }

bool python_has_numpy() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
  return ok;
}

int run_python(const TempDir& dir, const std::string& script, const std::string& args) {
  const std::string py = dir.file("script.py");
  std::ofstream(py) << script;
  const std::string cmd = "/usr/bin/python3 " + py + " " + args;
  return std::system(cmd.c_str());
}

// ----------------------------------------------------------------------------------------------
// Round trips

TEST(Safetensors, RoundTripIsBitExact) {
  TempDir dir;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float denorm = std::numeric_limits<float>::denorm_min();
  std::vector<std::pair<std::string, RawTensor>> tensors = {
      {"lstm/kernel", make_raw<float>(DType::F32, {2, 3}, {1.5f, -0.0f, nan, inf, -inf, denorm})},
      {"a/f64", make_raw<double>(DType::F64, {4}, {1e300, -2.5, 0.1, 3.0})},
      {"z/i32", make_raw<std::int32_t>(DType::I32, {2, 2, 2},
                                       {0, 1, -1, 2147483647, -2147483647 - 1, 5, 6, 7})},
      {"scalar", make_raw<std::int64_t>(DType::I64, {}, {-9000000000000000000LL})},
      {"bytes", make_raw<std::uint8_t>(DType::U8, {5}, {0, 1, 127, 128, 255})},
      {"empty", make_raw<float>(DType::F32, {0, 3}, {})},
      {"rank8", make_raw<float>(DType::F32, {1, 1, 1, 1, 1, 1, 1, 2}, {7.0f, 8.0f})},
      {"unicode/ü", make_raw<float>(DType::F32, {1}, {42.0f})},
  };
  std::map<std::string, std::string> meta = {
      {"recur.format", "1"},
      {"recur.model", "{\"class_name\": \"Sequential\"}"},
      {"note", "tabs\tnewlines\n quotes\" backslash\\ ünïcode"},
  };
  std::vector<std::pair<std::string, const RawTensor*>> list;
  for (const auto& [name, t] : tensors) list.emplace_back(name, &t);
  const std::string path = dir.file("model.safetensors");
  write_safetensors(path, meta, list);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_EQ(f.tensors.count(name), 1u);
    const RawTensor& r = f.tensors.at(name);
    EXPECT_EQ(r.dtype, t.dtype);
    EXPECT_EQ(r.shape, t.shape);
    EXPECT_EQ(r.bytes, t.bytes);
  }

  // Layout: header padded to 8 bytes, keys in the given order, data contiguous in that order.
  const Bytes raw = read_all(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | raw[i];
  EXPECT_EQ(n % 8, 0u);
  const std::string header(raw.begin() + 8, raw.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  EXPECT_EQ(header.rfind("{\"__metadata__\":{", 0), 0u) << header;
  std::size_t last = 0;
  for (const auto& [name, t] : tensors) {
    const std::size_t pos = header.find("\"" + name + "\":{\"dtype\":\"");
    ASSERT_NE(pos, std::string::npos) << name;
    EXPECT_GT(pos, last) << name;
    last = pos;
  }
  EXPECT_NE(header.find("\"lstm/kernel\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                        "\"data_offsets\":[0,24]}"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("\"a/f64\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[24,56]}"),
            std::string::npos)
      << header;
  std::size_t total = 0;
  for (const auto& [name, t] : tensors) total += t.bytes.size();
  EXPECT_EQ(raw.size(), 8 + n + total);
}

TEST(Safetensors, NoMetadataNoTensors) {
  TempDir dir;
  const std::string path = dir.file("empty.safetensors");
  write_safetensors(path, {}, {});
  const Bytes raw = read_all(path);
  ASSERT_EQ(raw.size(), 16u);
  EXPECT_EQ(std::string(raw.begin() + 8, raw.end()), "{}      ");
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_TRUE(f.metadata.empty());
  EXPECT_TRUE(f.tensors.empty());
}

TEST(Safetensors, OverwritesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  const RawTensor a = make_raw<float>(DType::F32, {1}, {1.0f});
  const RawTensor b = make_raw<float>(DType::F32, {2}, {2.0f, 3.0f});
  write_safetensors(path, {}, {{"a", &a}});
  write_safetensors(path, {}, {{"b", &b}});
  const SafetensorsFile f = read_safetensors(path);
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors.at("b").bytes, b.bytes);
}

TEST(Safetensors, ToFloatConvertsEveryDtype) {
  const Tensor f32 = to_float(make_raw<float>(DType::F32, {3}, {1.5f, -2.0f, 0.25f}), "x");
  EXPECT_EQ(f32.shape(), Shape({3}));
  EXPECT_EQ(f32[0], 1.5f);
  EXPECT_EQ(f32[2], 0.25f);
  const Tensor f64 = to_float(make_raw<double>(DType::F64, {2}, {0.1, -3.0}), "x");
  EXPECT_EQ(f64[0], 0.1f);
  EXPECT_EQ(f64[1], -3.0f);
  const Tensor i32 = to_float(make_raw<std::int32_t>(DType::I32, {2, 1}, {-7, 16777216}), "x");
  EXPECT_EQ(i32.shape(), Shape({2, 1}));
  EXPECT_EQ(i32[0], -7.0f);
  EXPECT_EQ(i32[1], 16777216.0f);
  const Tensor i64 = to_float(make_raw<std::int64_t>(DType::I64, {}, {123456}), "x");
  EXPECT_EQ(i64.numel(), 1);
  EXPECT_EQ(i64[0], 123456.0f);
  const Tensor u8 = to_float(make_raw<std::uint8_t>(DType::U8, {3}, {0, 200, 255}), "x");
  EXPECT_EQ(u8[1], 200.0f);
  EXPECT_EQ(u8[2], 255.0f);
  const Tensor empty = to_float(make_raw<float>(DType::F32, {2, 0}, {}), "x");
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_EQ(empty.shape(), Shape({2, 0}));

  expect_error<FormatError>(
      [] {
        to_float(make_raw<float>(DType::F32, {2, 2}, {1, 2, 3}), "input.npy");
      },
      {"input.npy: ", "12 bytes", "needs 16"});
  expect_error<FormatError>(
      [] {
        to_float(RawTensor{DType::F32, {-1}, {}}, "w");
      },
      {"w: ", "negative"});
}

TEST(Safetensors, RawFromFloatCopiesTheTensor) {
  Tensor t({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  const RawTensor r = raw_from_float(t);
  EXPECT_EQ(r.dtype, DType::F32);
  EXPECT_EQ(r.shape, Shape({2, 2}));
  ASSERT_EQ(r.bytes.size(), 16u);
  const Tensor back = to_float(r, "r");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], t[i]);
  const RawTensor e = raw_from_float(Tensor());
  EXPECT_EQ(e.shape, Shape({0}));
  EXPECT_TRUE(e.bytes.empty());
}

TEST(Safetensors, DtypeNamesAndSizes) {
  EXPECT_STREQ(dtype_name(DType::F32), "F32");
  EXPECT_STREQ(dtype_name(DType::F64), "F64");
  EXPECT_STREQ(dtype_name(DType::I32), "I32");
  EXPECT_STREQ(dtype_name(DType::I64), "I64");
  EXPECT_STREQ(dtype_name(DType::U8), "U8");
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::I32), 4u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_size(DType::U8), 1u);
}

TEST(Safetensors, WriterRejectsBadInputAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const RawTensor ok = make_raw<float>(DType::F32, {2}, {1, 2});
  const RawTensor short_data = make_raw<float>(DType::F32, {3}, {1, 2});
  const RawTensor rank9{DType::U8, {1, 1, 1, 1, 1, 1, 1, 1, 1}, Bytes(1)};
  const RawTensor negative{DType::U8, {-1}, {}};
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"", &ok}});
      },
      {path, "empty name"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"a", &ok}, {"a", &ok}});
      },
      {path, "'a'", "twice"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"__metadata__", &ok}});
      },
      {path, "reserved"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"a", nullptr}});
      },
      {path, "'a'", "null"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"s", &short_data}});
      },
      {path, "'s'", "8 bytes", "needs 12"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"r", &rank9}});
      },
      {path, "rank 9"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"n", &negative}});
      },
      {path, "'n'", "[-1]"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {}, {{"bad\xff", &ok}});
      },
      {path, "UTF-8"});
  expect_error<FormatError>(
      [&] {
        write_safetensors(path, {{"k", "v\xc3"}}, {});
      },
      {path, "UTF-8"});
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

// ----------------------------------------------------------------------------------------------
// Cross-check with Python: a file written by hand with struct + json, and the other way round.

TEST(Safetensors, ReadsAFileWrittenByPython) {
  if (!python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  TempDir dir;
  const std::string path = dir.file("py.safetensors");
  const std::string script = R"PY(
import json, struct, sys
import numpy as np
arrays = {
    "dense/kernel": np.arange(6, dtype="<f4").reshape(2, 3) / 4,
    "dense/bias": np.array([-1.5, 2.25], dtype="<f8"),
    "ids": np.array([[1, -2], [3, 2**40]], dtype="<i8"),
    "count": np.array(7, dtype="<i4"),
    "pixels": np.array([0, 128, 255], dtype="|u1"),
    "nothing": np.zeros((0, 4), dtype="<f4"),
}
names = {"<f4": "F32", "<f8": "F64", "<i8": "I64", "<i4": "I32", "|u1": "U8"}
header = {"__metadata__": {"recur.format": "1", "source": "python"}}
blob = b""
for key in sorted(arrays, reverse=True):
    a = arrays[key]
    data = a.tobytes()
    header[key] = {"dtype": names[a.dtype.str], "shape": list(a.shape),
                   "data_offsets": [len(blob), len(blob) + len(data)]}
    blob += data
text = json.dumps(header).encode("utf-8")
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    f.write(blob)
)PY";
  ASSERT_EQ(run_python(dir, script, path), 0);
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.metadata.at("recur.format"), "1");
  EXPECT_EQ(f.metadata.at("source"), "python");
  ASSERT_EQ(f.tensors.size(), 6u);

  const RawTensor& k = f.tensors.at("dense/kernel");
  EXPECT_EQ(k.dtype, DType::F32);
  EXPECT_EQ(k.shape, Shape({2, 3}));
  const Tensor kf = to_float(k, "dense/kernel");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(kf[i], static_cast<float>(i) / 4) << i;

  const RawTensor& b = f.tensors.at("dense/bias");
  EXPECT_EQ(b.dtype, DType::F64);
  double bv[2];
  std::memcpy(bv, b.bytes.data(), sizeof(bv));
  EXPECT_EQ(bv[0], -1.5);
  EXPECT_EQ(bv[1], 2.25);

  const RawTensor& ids = f.tensors.at("ids");
  EXPECT_EQ(ids.dtype, DType::I64);
  std::int64_t iv[4];
  std::memcpy(iv, ids.bytes.data(), sizeof(iv));
  EXPECT_EQ(iv[1], -2);
  EXPECT_EQ(iv[3], std::int64_t{1} << 40);

  const RawTensor& count = f.tensors.at("count");
  EXPECT_EQ(count.dtype, DType::I32);
  EXPECT_TRUE(count.shape.empty());
  EXPECT_EQ(to_float(count, "count")[0], 7.0f);

  const RawTensor& px = f.tensors.at("pixels");
  EXPECT_EQ(px.dtype, DType::U8);
  EXPECT_EQ(px.bytes, Bytes({0, 128, 255}));

  EXPECT_EQ(f.tensors.at("nothing").shape, Shape({0, 4}));
  EXPECT_TRUE(f.tensors.at("nothing").bytes.empty());
}

TEST(Safetensors, PythonReadsWhatWeWrite) {
  if (!python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  TempDir dir;
  const std::string path = dir.file("cpp.safetensors");
  const RawTensor w = make_raw<float>(DType::F32, {2, 2}, {0.5f, -1.0f, 3.25f, 1e-8f});
  const RawTensor ids = make_raw<std::int64_t>(DType::I64, {3}, {-1, 0, 1LL << 50});
  const RawTensor s = make_raw<double>(DType::F64, {}, {2.5});
  const RawTensor e = make_raw<std::uint8_t>(DType::U8, {0}, {});
  write_safetensors(path, {{"recur.format", "1"}, {"k", "v"}},
                    {{"w", &w}, {"ids", &ids}, {"s", &s}, {"e", &e}});
  const std::string script = R"PY(
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
assert n % 8 == 0, n
header = json.loads(raw[8:8 + n].decode("utf-8"))
assert list(header)[0] == "__metadata__", list(header)
assert header["__metadata__"] == {"recur.format": "1", "k": "v"}, header
assert list(header)[1:] == ["w", "ids", "s", "e"], list(header)
buf = raw[8 + n:]
types = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "U8": "|u1"}
def get(name):
    info = header[name]
    b, e = info["data_offsets"]
    return np.frombuffer(buf[b:e], dtype=types[info["dtype"]]).reshape(info["shape"])
assert get("w").dtype == np.float32
assert np.array_equal(get("w"), np.array([[0.5, -1.0], [3.25, 1e-8]], dtype=np.float32))
assert np.array_equal(get("ids"), np.array([-1, 0, 2**50]))
assert get("s").shape == () and get("s") == 2.5
assert get("e").shape == (0,)
assert header["e"]["data_offsets"][1] == len(buf)
print("python: ok")
)PY";
  EXPECT_EQ(run_python(dir, script, path), 0);
}

// ----------------------------------------------------------------------------------------------
// Corruption

Bytes small_valid_file() {
  TempDir dir;
  const RawTensor a = make_raw<float>(DType::F32, {2, 2}, {1, 2, 3, 4});
  const RawTensor b = make_raw<std::int64_t>(DType::I64, {}, {5});
  const RawTensor c = make_raw<std::uint8_t>(DType::U8, {3}, {6, 7, 8});
  write_safetensors(dir.file("s.safetensors"), {{"recur.format", "1"}},
                    {{"a", &a}, {"b", &b}, {"c", &c}});
  return read_all(dir.file("s.safetensors"));
}

TEST(SafetensorsCorrupt, EveryTruncationThrows) {
  const Bytes good = small_valid_file();
  ASSERT_NO_THROW(parse(good));
  for (std::size_t len = 0; len < good.size(); ++len) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_THROW(parse(cut), recur::Error) << "truncated to " << len << " bytes";
  }
}

TEST(SafetensorsCorrupt, FlippedBytesNeverCrash) {
  const Bytes good = small_valid_file();
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | good[i];
  int parsed = 0, rejected = 0;
  auto attempt = [&](const Bytes& b) {
    try {
      const SafetensorsFile f = parse(b);
      // Whatever parses must be self-consistent.
      for (const auto& [name, t] : f.tensors) {
        EXPECT_FALSE(name.empty());
        EXPECT_EQ(detail::checked_nbytes(t.shape, dtype_size(t.dtype)).value_or(~0ull),
                  t.bytes.size());
      }
      ++parsed;
    } catch (const recur::Error&) {
      ++rejected;
    }
  };
  for (std::size_t pos = 0; pos < 8 + n; ++pos) {
    for (std::uint8_t mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
      Bytes b = good;
      b[pos] ^= mask;
      attempt(b);
    }
  }
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    Bytes b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % (8 + n)] = static_cast<std::uint8_t>(rng());
    attempt(b);
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(parsed + rejected, 3000);
}

TEST(SafetensorsCorrupt, HeaderLength) {
  expect_error<FormatError>(
      [] {
        parse(Bytes{1, 2, 3});
      },
      {"model.safetensors: ", "3 bytes", "too short"});
  Bytes b = make_file("{}");
  b[0] = 0xe8;  // 1000
  b[1] = 0x03;
  expect_error<FormatError>(
      [&] { parse(b); },
      {"model.safetensors: header length 1000 extends past the end of the file (10 bytes)"});
  Bytes huge = make_file("{}");
  for (int i = 0; i < 8; ++i) huge[i] = 0;
  huge[7] = 0x40;  // 2^62
  expect_error<FormatError>([&] { parse(huge); },
                            {"model.safetensors: header length 4611686018427387904 exceeds"});
  Bytes all_ones(16, 0xff);
  expect_error<FormatError>([&] { parse(all_ones); }, {"exceeds the limit"});
  Bytes just_over = make_file("{}");
  const std::uint64_t over = 100'000'001;
  for (int i = 0; i < 8; ++i) just_over[i] = static_cast<std::uint8_t>(over >> (8 * i));
  expect_error<FormatError>([&] { parse(just_over); }, {"100000001", "100000000"});
  expect_error<FormatError>([] { parse(make_file("")); }, {"not valid JSON"});
}

TEST(SafetensorsCorrupt, HeaderJson) {
  expect_error<FormatError>([] { parse(make_file("{\"a\": ")); },
                            {"model.safetensors: header is not valid JSON"});
  expect_error<FormatError>([] { parse(make_file("{} x")); }, {"not valid JSON"});
  expect_error<FormatError>([] { parse(make_file("[1, 2]")); },
                            {"model.safetensors: header must be a JSON object, got array"});
  expect_error<FormatError>([] { parse(make_file("\"str\"")); }, {"JSON object"});
  expect_error<FormatError>([] { parse(make_file("{\"a\xff\": 1}")); }, {"not valid JSON"});
  expect_error<FormatError>([] { parse(make_file(std::string("{\0}", 3))); }, {"not valid JSON"});
  std::string deep(5000, '[');
  expect_error<FormatError>([&] { parse(make_file("{\"x\": " + deep)); }, {"nests deeper"});
  expect_error<FormatError>(
      [] { parse(make_file("{\"__metadata__\": {}, \"__metadata__\": {}}")); },
      {"'__metadata__' twice"});
  // Padding with spaces (and other whitespace) is fine.
  EXPECT_NO_THROW(parse(make_file("{}\n\t      ")));
}

TEST(SafetensorsCorrupt, Metadata) {
  expect_error<FormatError>([] { parse(make_file("{\"__metadata__\": {\"a\": 1}}")); },
                            {"model.safetensors: __metadata__ entry 'a' must be a string"});
  expect_error<FormatError>([] { parse(make_file("{\"__metadata__\": {\"a\": null}}")); },
                            {"'a'", "null"});
  expect_error<FormatError>([] { parse(make_file("{\"__metadata__\": [\"a\"]}")); },
                            {"__metadata__ must be an object"});
  expect_error<FormatError>(
      [] { parse(make_file("{\"__metadata__\": {\"a\": \"1\", \"a\": \"2\"}}")); }, {"'a' twice"});
  const SafetensorsFile f = parse(make_file("{\"__metadata__\": {\"a\": \"\\u00fc\\n\"}}"));
  EXPECT_EQ(f.metadata.at("a"), "\xc3\xbc\n");
}

// A header with one tensor entry `w`.
Bytes one_tensor(const std::string& entry, std::size_t buffer_size = 24) {
  return make_file("{\"w\": " + entry + "}", Bytes(buffer_size, 0));
}

TEST(SafetensorsCorrupt, TensorEntries) {
  using V = std::vector<std::string>;
  struct Case {
    std::string entry;
    V pieces;
  };
  const std::vector<Case> cases = {
      {R"({"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]})",
       {"tensor 'w': unsupported dtype \"BF16\"", "F32"}},
      {R"({"dtype": "f32", "shape": [2], "data_offsets": [0, 8]})", {"unsupported dtype"}},
      {R"({"dtype": 5, "shape": [2], "data_offsets": [0, 8]})", {"dtype must be a string"}},
      {R"({"shape": [2], "data_offsets": [0, 8]})", {"tensor 'w': missing \"dtype\""}},
      {R"({"dtype": "F32", "data_offsets": [0, 8]})", {"missing \"shape\""}},
      {R"({"dtype": "F32", "shape": [2]})", {"missing \"data_offsets\""}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1})", {"unexpected key 'x'"}},
      {R"({"dtype": "F32", "shape": [2], "shape": [2], "data_offsets": [0, 8]})",
       {"'shape' twice"}},
      {R"([1, 2])", {"tensor 'w': entry must be a JSON object, got array"}},
      {R"({"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]})",
       {"tensor 'w': shape [-1]: extent 0 is -1", "non-negative integers"}},
      {R"({"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]})", {"extent 0 is 2.5"}},
      {R"({"dtype": "F32", "shape": [2, "3"], "data_offsets": [0, 8]})", {"extent 1 is \"3\""}},
      {R"({"dtype": "F32", "shape": [1e30], "data_offsets": [0, 8]})", {"extent 0"}},
      {R"({"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 8]})",
       {"extent 0 is 18446744073709551615"}},
      {R"({"dtype": "F32", "shape": 2, "data_offsets": [0, 8]})", {"shape must be an array"}},
      {R"({"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]})",
       {"shape [4294967296, 4294967296] has too many elements"}},
      {R"({"dtype": "F64", "shape": [1152921504606846976], "data_offsets": [0, 8]})",
       {"too many elements"}},
      {R"({"dtype": "F32", "shape": [4294967296, 4294967296, 0], "data_offsets": [0, 0]})",
       {"too many elements"}},
      {R"({"dtype": "U8", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 1]})",
       {"rank 9", "at most 8"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]})",
       {"tensor 'w': data_offsets [8, 0] are reversed"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 4000]})",
       {"tensor 'w' data [0, 4000) extends past the end of the buffer (24 bytes)"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 18446744073709551615]})",
       {"extends past the end of the buffer"}},
      {R"({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]})",
       {"tensor 'w' data [0, 8) holds 8 bytes, but dtype F32 shape [3] needs 12 bytes"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 16]})",
       {"data_offsets must be an array [begin, end]"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]})",
       {"must be two non-negative integers"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8]})",
       {"must be two non-negative integers"}},
      {R"({"dtype": "F32", "shape": [2], "data_offsets": {"a": 0}})",
       {"data_offsets must be an array"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.entry);
    V pieces = c.pieces;
    pieces.push_back("model.safetensors: ");
    expect_error<FormatError>([&] { parse(one_tensor(c.entry)); }, pieces);
  }
}

TEST(SafetensorsCorrupt, MessageFromTheSpecification) {
  const std::string header = R"({"lstm/kernel": {"dtype": "F32", "shape": [1000],)"
                             R"( "data_offsets": [96, 4096]}})";
  expect_error<FormatError>(
      [&] { parse(make_file(header, Bytes(4000))); },
      {"model.safetensors: tensor 'lstm/kernel' data [96, 4096) extends past the end of the "
       "buffer (4000 bytes)"});
}

TEST(SafetensorsCorrupt, OverlapsAndNames) {
  const Bytes data(32);
  expect_error<FormatError>(
      [&] {
        parse(make_file(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                        R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                        data));
      },
      {"model.safetensors: tensors 'a' [0, 16) and 'b' [8, 24) overlap"});
  expect_error<FormatError>(
      [&] {
        parse(make_file(R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]},)"
                        R"( "b": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}})",
                        data));
      },
      {"overlap"});
  expect_error<FormatError>(
      [&] {
        parse(make_file(R"({"a": {"dtype": "U8", "shape": [32], "data_offsets": [0, 32]},)"
                        R"( "b": {"dtype": "U8", "shape": [2], "data_offsets": [30, 32]}})",
                        data));
      },
      {"'a' [0, 32) and 'b' [30, 32) overlap"});
  // Adjacent ranges, gaps and empty tensors anywhere are fine.
  const SafetensorsFile ok =
      parse(make_file(R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},)"
                      R"( "b": {"dtype": "U8", "shape": [8], "data_offsets": [8, 16]},)"
                      R"( "c": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]},)"
                      R"( "d": {"dtype": "U8", "shape": [4], "data_offsets": [20, 24]}})",
                      data));
  EXPECT_EQ(ok.tensors.size(), 4u);
  expect_error<FormatError>(
      [&] {
        parse(make_file(R"({"": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})", data));
      },
      {"model.safetensors: header has a tensor with an empty name"});
  expect_error<FormatError>(
      [&] {
        parse(make_file(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},)"
                        R"( "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
                        data));
      },
      {"'a' twice"});
  // Control characters in names are escaped in messages.
  expect_error<FormatError>([&] { parse(make_file(R"({"a\u0001b": {"dtype": "BF16"}})", data)); },
                            {"'a\\x01b'"});
}

TEST(SafetensorsCorrupt, TooManyTensors) {
  auto header_with = [](std::size_t count) {
    std::string h = "{";
    for (std::size_t i = 0; i < count; ++i) {
      if (i) h += ',';
      h += "\"t" + std::to_string(i) + R"(":{"dtype":"U8","shape":[0],"data_offsets":[0,0]})";
    }
    return h + "}";
  };
  expect_error<FormatError>([&] { parse(make_file(header_with(100'001))); },
                            {"model.safetensors: header lists 100001 tensors", "100000"});
  expect_error<FormatError>([&] { parse(make_file(header_with(100'002))); },
                            {"more than 100000 tensors"});
  EXPECT_EQ(parse(make_file(header_with(1000))).tensors.size(), 1000u);
}

TEST(SafetensorsCorrupt, ReadErrorsNameThePath) {
  TempDir dir;
  const std::string missing = dir.file("missing.safetensors");
  expect_error<IoError>([&] { read_safetensors(missing); }, {missing, "No such file"});
  expect_error<IoError>([&] { read_safetensors(dir.path().string()); },
                        {dir.path().string(), "directory"});
  const std::string bad = dir.file("bad.safetensors");
  write_all(bad, make_file("{\"a\": 1}"));
  expect_error<FormatError>([&] { read_safetensors(bad); }, {bad + ": tensor 'a'"});
}

// ----------------------------------------------------------------------------------------------
// write_file_atomic / read_file

TEST(AtomicFile, WritesAndReplaces) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_file_atomic(path, Bytes{1, 2, 3});
  EXPECT_EQ(read_file(path), Bytes({1, 2, 3}));
  write_file_atomic(path, Bytes{});
  EXPECT_TRUE(read_file(path).empty());
  write_file_atomic(path, Bytes(100000, 7));
  EXPECT_EQ(read_file(path), Bytes(100000, 7));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFile, MissingDirectoryThrowsAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/out.bin");
  expect_error<IoError>([&] { write_file_atomic(path, Bytes{1}); },
                        {path + ": cannot create temporary file", "No such file"});
  EXPECT_FALSE(fs::exists(dir.file("no")));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(AtomicFile, ParentIsARegularFile) {
  TempDir dir;
  const std::string regular = dir.file("regular");
  write_all(regular, Bytes{9, 9});
  const std::string path = regular + "/out.bin";
  expect_error<IoError>([&] { write_file_atomic(path, Bytes{1}); }, {path, "Not a directory"});
  EXPECT_EQ(read_file(regular), Bytes({9, 9}));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFile, FailedRenameLeavesNoTemporaryFile) {
  TempDir dir;
  // The target is a non-empty directory: the temporary file is written, the rename fails.
  const std::string target = dir.file("target");
  fs::create_directory(target);
  write_all(target + "/keep", Bytes{4, 5});
  expect_error<IoError>(
      [&] {
        write_file_atomic(target, Bytes{1, 2});
      },
      {target + ": cannot rename temporary file '" + target + ".tmp'"});
  EXPECT_FALSE(fs::exists(target + ".tmp"));
  EXPECT_EQ(read_file(target + "/keep"), Bytes({4, 5}));
}

TEST(AtomicFile, BlockedTemporaryPathKeepsTheTarget) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  write_all(path, Bytes{1, 2, 3});
  fs::create_directory(path + ".tmp");  // not ours: must not be removed
  const RawTensor t = make_raw<float>(DType::F32, {1}, {1.0f});
  expect_error<IoError>(
      [&] {
        write_safetensors(path, {}, {{"t", &t}});
      },
      {path + ": cannot create temporary file"});
  EXPECT_EQ(read_file(path), Bytes({1, 2, 3}));
  EXPECT_TRUE(fs::is_directory(path + ".tmp"));
}

TEST(AtomicFile, StaleTemporaryFileIsReplaced) {
  TempDir dir;
  const std::string path = dir.file("x");
  write_all(path + ".tmp", Bytes(50, 1));
  write_file_atomic(path, Bytes{2});
  EXPECT_EQ(read_file(path), Bytes({2}));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(AtomicFile, ReadFileErrors) {
  TempDir dir;
  expect_error<IoError>([&] { read_file(dir.file("nope")); },
                        {dir.file("nope") + ": cannot open for reading: No such file"});
  expect_error<IoError>([&] { read_file(dir.path().string()); },
                        {dir.path().string() + ": cannot read: Is a directory"});
  write_all(dir.file("empty"), {});
  EXPECT_TRUE(read_file(dir.file("empty")).empty());
}

}  // namespace
}  // namespace recur::io
