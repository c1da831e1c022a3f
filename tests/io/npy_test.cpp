// Tests for the .npy reader/writer: round trips, cross-checks with numpy (np.save / np.load),
// header dialects, and corrupted files that must each raise a clear recur::Error.
#include "io/npy.hpp"

#include <gtest/gtest.h>

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
    std::string templ = (fs::temp_directory_path() / "recur_npy_XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

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
NpyArray make_array(DType dtype, Shape shape, const std::vector<T>& values) {
  NpyArray a{dtype, std::move(shape), Bytes(values.size() * sizeof(T))};
  if (!values.empty()) std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  return a;
}

// A version-1.0 file with the given header text (used verbatim) and data.
Bytes make_npy(const std::string& header, std::size_t data_bytes, int major = 1) {
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  for (std::size_t i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
  out.resize(out.size() + header.size() + data_bytes);
  if (!header.empty()) std::memcpy(out.data() + 8 + len_bytes, header.data(), header.size());
  return out;
}

std::string dict(const std::string& descr, const std::string& fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

NpyArray parse(const Bytes& b) { return parse_npy(b, "x.npy"); }

void write_all(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

bool python_has_numpy() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
  return ok;
}

int run_python(const TempDir& dir, const std::string& script) {
  const std::string py = dir.file("script.py");
  std::ofstream(py) << script;
  const std::string cmd = "cd '" + dir.file("") + "' && /usr/bin/python3 script.py";
  return std::system(cmd.c_str());
}

// ----------------------------------------------------------------------------------------------
// Round trips

TEST(Npy, RoundTripEveryDtypeAndRank) {
  TempDir dir;
  const std::vector<std::pair<std::string, NpyArray>> arrays = {
      {"f32_2d", make_array<float>(DType::F32, {2, 3}, {1, -2, 3.5f, 0, -0.0f, 1e-40f})},
      {"f64_1d", make_array<double>(DType::F64, {3}, {0.1, -1e300, 2})},
      {"i32_3d", make_array<std::int32_t>(DType::I32, {1, 2, 2}, {1, -1, 2147483647, 0})},
      {"i64_0d", make_array<std::int64_t>(DType::I64, {}, {-1234567890123LL})},
      {"u8", make_array<std::uint8_t>(DType::U8, {4}, {0, 1, 128, 255})},
      {"empty", make_array<float>(DType::F32, {2, 0, 3}, {})},
      {"empty_1d", make_array<std::int32_t>(DType::I32, {0}, {})},
  };
  for (const auto& [name, a] : arrays) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name + ".npy");
    write_npy(path, a);
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    const Bytes raw = read_file(path);
    ASSERT_GE(raw.size(), 10u);
    EXPECT_EQ(raw[6], 1);  // version 1.0
    const std::size_t header_len = raw[8] | (raw[9] << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_EQ(raw[10 + header_len - 1], '\n');
    const NpyArray b = read_npy(path);
    EXPECT_EQ(b.dtype, a.dtype);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.bytes, a.bytes);
  }
}

TEST(Npy, HeaderTextMatchesNumpy) {
  TempDir dir;
  auto header_of = [&](const NpyArray& a) {
    write_npy(dir.file("h.npy"), a);
    const Bytes raw = read_file(dir.file("h.npy"));
    const std::size_t len = raw[8] | (raw[9] << 8);
    std::string h(raw.begin() + 10, raw.begin() + 10 + static_cast<std::ptrdiff_t>(len));
    return h.substr(0, h.find_last_not_of(" \n") + 1);
  };
  EXPECT_EQ(header_of(make_array<float>(DType::F32, {2, 3}, std::vector<float>(6))),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(header_of(make_array<std::uint8_t>(DType::U8, {5}, std::vector<std::uint8_t>(5))),
            "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }");
  EXPECT_EQ(header_of(make_array<double>(DType::F64, {}, {1.0})),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
}

TEST(Npy, WritesATensor) {
  TempDir dir;
  Tensor t({2, 2}, {1.0f, 2.5f, -3.0f, 4.0f});
  write_npy(dir.file("t.npy"), t);
  const NpyArray a = read_npy(dir.file("t.npy"));
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, Shape({2, 2}));
  const Tensor back = to_float(RawTensor{a.dtype, a.shape, a.bytes}, "t");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], t[i]);
  write_npy(dir.file("e.npy"), Tensor());
  EXPECT_EQ(read_npy(dir.file("e.npy")).shape, Shape({0}));
}

TEST(Npy, WriterRejectsInconsistentArrays) {
  TempDir dir;
  const std::string path = dir.file("bad.npy");
  expect_error<FormatError>(
      [&] {
        write_npy(path, make_array<float>(DType::F32, {2, 2}, {1, 2, 3}));
      },
      {path, "12 bytes", "needs 16"});
  expect_error<FormatError>(
      [&] {
        write_npy(path, NpyArray{DType::U8, {-2}, {}});
      },
      {path, "[-2]"});
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(Npy, AcceptsHeaderDialects) {
  // Other spacing, quotes, key order, no trailing comma, Python 2 longs, versions 2.0 and 3.0.
  const std::vector<std::pair<std::string, Shape>> ok = {
      {"{'descr':'<f4','fortran_order':False,'shape':(2,3)}", {2, 3}},
      {"{ \"shape\" : ( 2 , 3 , ) , \"descr\" : \"<f4\" , \"fortran_order\" : False }\n", {2, 3}},
      {"{'shape': (3L, 2L), 'fortran_order': False, 'descr': '<f4'}   \n", {3, 2}},
      {"\n\t{'descr': '<f4', 'fortran_order': False, 'shape': (6,),}\r\n", {6}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 6)}", {1, 1, 6}},
  };
  for (const auto& [header, shape] : ok) {
    SCOPED_TRACE(header);
    const NpyArray a = parse(make_npy(header, 24));
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.dtype, DType::F32);
  }
  EXPECT_EQ(parse(make_npy(dict("<i8", "False", "()"), 8, 2)).shape, Shape());
  EXPECT_EQ(parse(make_npy(dict("|u1", "False", "(0,)"), 0, 3)).shape, Shape({0}));
  EXPECT_EQ(parse(make_npy(dict("<f8", "False", "(2, 0)"), 0)).shape, Shape({2, 0}));
}

// ----------------------------------------------------------------------------------------------
// Cross-checks with numpy

TEST(Npy, ReadsWhatNumpySaves) {
  if (!python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  TempDir dir;
  ASSERT_EQ(run_python(dir, R"PY(
import numpy as np
np.save("f32.npy", (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 5) / 8)
np.save("f64.npy", np.array([0.1, -2.0, 1e300]))
np.save("i32.npy", np.array([[1, -2], [2**31 - 1, -2**31]], dtype=np.int32))
np.save("i64.npy", np.array([[7, 2**40, -3]], dtype=np.int64))
np.save("u8.npy", np.array([0, 17, 255], dtype=np.uint8))
np.save("scalar.npy", np.float32(2.5))
np.save("empty.npy", np.zeros((0, 5), dtype=np.float32))
np.save("sliced.npy", np.arange(12, dtype=np.float32).reshape(3, 4)[:, 1])
np.save("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
np.save("big.npy", np.ones(3, dtype=">f4"))
np.save("bool.npy", np.array([True, False]))
np.save("half.npy", np.ones(2, dtype=np.float16))
np.save("record.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
np.lib.format.write_array(open("v2.npy", "wb"), np.arange(3, dtype=np.int32), version=(2, 0))
np.lib.format.write_array(open("v3.npy", "wb"), np.arange(3, dtype=np.int64), version=(3, 0))
)PY"),
            0);
  auto values = [](const NpyArray& a, const std::string& name) {
    return to_float(RawTensor{a.dtype, a.shape, a.bytes}, name);
  };
  {
    const NpyArray a = read_npy(dir.file("f32.npy"));
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.shape, Shape({2, 3, 4}));
    const Tensor t = values(a, "f32");
    for (int i = 0; i < 24; ++i) EXPECT_EQ(t[i], (static_cast<float>(i) - 5) / 8) << i;
  }
  {
    const NpyArray a = read_npy(dir.file("f64.npy"));
    EXPECT_EQ(a.dtype, DType::F64);
    double v[3];
    ASSERT_EQ(a.bytes.size(), sizeof(v));
    std::memcpy(v, a.bytes.data(), sizeof(v));
    EXPECT_EQ(v[0], 0.1);
    EXPECT_EQ(v[1], -2.0);
    EXPECT_EQ(v[2], 1e300);
  }
  {
    const NpyArray a = read_npy(dir.file("i32.npy"));
    EXPECT_EQ(a.dtype, DType::I32);
    EXPECT_EQ(a.shape, Shape({2, 2}));
    std::int32_t v[4];
    std::memcpy(v, a.bytes.data(), sizeof(v));
    EXPECT_EQ(v[1], -2);
    EXPECT_EQ(v[2], std::numeric_limits<std::int32_t>::max());
    EXPECT_EQ(v[3], std::numeric_limits<std::int32_t>::min());
  }
  {
    const NpyArray a = read_npy(dir.file("i64.npy"));
    EXPECT_EQ(a.dtype, DType::I64);
    EXPECT_EQ(a.shape, Shape({1, 3}));
    std::int64_t v[3];
    std::memcpy(v, a.bytes.data(), sizeof(v));
    EXPECT_EQ(v[1], std::int64_t{1} << 40);
    EXPECT_EQ(v[2], -3);
  }
  {
    const NpyArray a = read_npy(dir.file("u8.npy"));
    EXPECT_EQ(a.dtype, DType::U8);
    EXPECT_EQ(a.bytes, Bytes({0, 17, 255}));
  }
  {
    const NpyArray a = read_npy(dir.file("scalar.npy"));
    EXPECT_EQ(a.shape, Shape());
    EXPECT_EQ(values(a, "scalar")[0], 2.5f);
  }
  EXPECT_EQ(read_npy(dir.file("empty.npy")).shape, Shape({0, 5}));
  {
    const Tensor t = values(read_npy(dir.file("sliced.npy")), "sliced");
    ASSERT_EQ(t.numel(), 3);
    EXPECT_EQ(t[0], 1.0f);
    EXPECT_EQ(t[2], 9.0f);
  }
  {
    const NpyArray a = read_npy(dir.file("v2.npy"));
    EXPECT_EQ(a.dtype, DType::I32);
    EXPECT_EQ(values(a, "v2")[2], 2.0f);
    const NpyArray b = read_npy(dir.file("v3.npy"));
    EXPECT_EQ(b.dtype, DType::I64);
    EXPECT_EQ(values(b, "v3")[1], 1.0f);
  }
  const std::string f = dir.file("fortran.npy");
  expect_error<FormatError>([&] { read_npy(f); }, {f + ": Fortran-order", "not supported"});
  const std::string big = dir.file("big.npy");
  expect_error<FormatError>([&] { read_npy(big); },
                            {big + ": big-endian data ('>f4') is not supported"});
  const std::string boolean = dir.file("bool.npy");
  expect_error<FormatError>([&] { read_npy(boolean); },
                            {boolean + ": dtype '|b1' (bool) is not supported", "'<f4'"});
  const std::string half = dir.file("half.npy");
  expect_error<FormatError>([&] { read_npy(half); }, {half + ": dtype '<f2' is not supported"});
  const std::string record = dir.file("record.npy");
  expect_error<FormatError>([&] { read_npy(record); },
                            {record + ": structured arrays", "not supported"});
}

TEST(Npy, NumpyLoadsWhatWeWrite) {
  if (!python_has_numpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  TempDir dir;
  Tensor t({2, 3, 2});
  for (int i = 0; i < 12; ++i) t[i] = static_cast<float>(i) * 0.25f - 1.0f;
  write_npy(dir.file("tensor.npy"), t);
  write_npy(dir.file("f64.npy"), make_array<double>(DType::F64, {2}, {0.1, -1e300}));
  write_npy(dir.file("i32.npy"), make_array<std::int32_t>(DType::I32, {3, 1}, {5, -6, 7}));
  write_npy(dir.file("i64.npy"), make_array<std::int64_t>(DType::I64, {}, {1LL << 50}));
  write_npy(dir.file("u8.npy"), make_array<std::uint8_t>(DType::U8, {2, 2}, {0, 1, 254, 255}));
  write_npy(dir.file("empty.npy"), make_array<float>(DType::F32, {0, 7}, {}));
  EXPECT_EQ(run_python(dir, R"PY(
import numpy as np
t = np.load("tensor.npy")
assert t.dtype == np.float32 and t.shape == (2, 3, 2), (t.dtype, t.shape)
assert np.array_equal(t, (np.arange(12, dtype=np.float32) * 0.25 - 1).reshape(2, 3, 2)), t
assert t.flags.c_contiguous
a = np.load("f64.npy"); assert a.dtype == np.float64 and list(a) == [0.1, -1e300], a
a = np.load("i32.npy"); assert a.dtype == np.int32 and a.shape == (3, 1), a
assert a[:, 0].tolist() == [5, -6, 7]
a = np.load("i64.npy"); assert a.dtype == np.int64 and a.shape == () and a == 2**50, a
a = np.load("u8.npy"); assert a.dtype == np.uint8 and a.tolist() == [[0, 1], [254, 255]], a
a = np.load("empty.npy"); assert a.dtype == np.float32 and a.shape == (0, 7), a
with open("tensor.npy", "rb") as f:
    assert np.lib.format.read_magic(f) == (1, 0)
print("numpy: ok")
)PY"),
            0);
}

// ----------------------------------------------------------------------------------------------
// Corruption

Bytes small_valid_file() {
  TempDir dir;
  write_npy(dir.file("s.npy"), make_array<float>(DType::F32, {2, 2}, {1, 2, 3, 4}));
  return read_file(dir.file("s.npy"));
}

TEST(NpyCorrupt, EveryTruncationThrows) {
  const Bytes good = small_valid_file();
  ASSERT_NO_THROW(parse(good));
  for (std::size_t len = 0; len < good.size(); ++len) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_THROW(parse(cut), recur::Error) << "truncated to " << len << " bytes";
  }
}

TEST(NpyCorrupt, FlippedBytesNeverCrash) {
  const Bytes good = small_valid_file();
  const std::size_t header_end = 10 + (good[8] | (good[9] << 8));
  int parsed = 0, rejected = 0;
  auto attempt = [&](const Bytes& b) {
    try {
      const NpyArray a = parse(b);
      EXPECT_EQ(detail::checked_nbytes(a.shape, dtype_size(a.dtype)).value_or(~0ull),
                a.bytes.size());
      ++parsed;
    } catch (const recur::Error&) {
      ++rejected;
    }
  };
  for (std::size_t pos = 0; pos < header_end; ++pos) {
    for (std::uint8_t mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
      Bytes b = good;
      b[pos] ^= mask;
      attempt(b);
    }
  }
  std::mt19937 rng(99);
  for (int iter = 0; iter < 3000; ++iter) {
    Bytes b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % header_end] = static_cast<std::uint8_t>(rng());
    attempt(b);
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(parsed, 0);  // e.g. flips inside the padding
}

TEST(NpyCorrupt, Preamble) {
  expect_error<FormatError>(
      [] {
        parse(Bytes{0x93, 'N', 'U'});
      },
      {"x.npy: file has 3 bytes, too short"});
  Bytes b = make_npy(dict("<f4", "False", "(1,)"), 4);
  b[1] = 'X';
  expect_error<FormatError>([&] { parse(b); }, {"x.npy: not a .npy file", "magic"});
  expect_error<FormatError>([] { parse(make_npy(dict("<f4", "False", "(1,)"), 4, 4)); },
                            {"x.npy: unsupported .npy format version 4.0"});
  Bytes minor = make_npy(dict("<f4", "False", "(1,)"), 4);
  minor[7] = 1;
  expect_error<FormatError>([&] { parse(minor); }, {"version 1.1"});
  Bytes zero = make_npy(dict("<f4", "False", "(1,)"), 4);
  zero[6] = 0;
  expect_error<FormatError>([&] { parse(zero); }, {"version 0.0"});
  Bytes v2_short = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0};
  expect_error<FormatError>([&] { parse(v2_short); }, {"11 bytes", "version 2.0"});
  Bytes long_header = make_npy(dict("<f4", "False", "(1,)"), 4);
  long_header[8] = 0xff;
  long_header[9] = 0xff;
  expect_error<FormatError>([&] { parse(long_header); },
                            {"x.npy: header length 65535 extends past the end of the file"});
  Bytes huge = make_npy(dict("<f4", "False", "(1,)"), 4, 2);
  for (int i = 8; i < 12; ++i) huge[i] = 0xff;
  expect_error<FormatError>([&] { parse(huge); }, {"header length 4294967295 extends past"});
}

TEST(NpyCorrupt, HeaderDict) {
  struct Case {
    std::string header;
    std::string piece;
  };
  const std::vector<Case> cases = {
      {"", "expects '{'"},
      {"   ", "expects '{'"},
      {"{'descr': '<f4', 'fortran_order': False", "expects ',' or '}'"},
      {"{'descr': '<f4' 'fortran_order': False}", "expects ',' or '}'"},
      {"{'descr: '<f4'}", "expects ':'"},
      {"{'descr': '<f4}", "unterminated string"},
      {"{descr: '<f4'}", "expects a quoted string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
       "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4'}", "'descr' twice"},
      {"{'fortran_order': False, 'shape': (2,)}", "no 'descr'"},
      {"{'descr': '<f4', 'shape': (2,)}", "no 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': False}", "no 'shape'"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "not a string, True, False"},
      {"{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}", "must be True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "'shape' must be a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "negative extent"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", "expects ',' or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (a,)}", "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}", "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,", "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
       "too many elements"},
      {"{'descr': 4, 'fortran_order': False, 'shape': (1,)}", "not a string, True, False"},
      {"{'descr': True, 'fortran_order': False, 'shape': (1,)}", "'descr' must be a string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "text after"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\0", "text after"},
      {"{'descr': 'a\\'b', 'fortran_order': False, 'shape': (1,)}", "escape"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", "structured"},
      {"{'descr': [[[", "unterminated list"},
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}", "Fortran-order"},
      {"{'descr': '>f8', 'fortran_order': False, 'shape': (1,)}", "big-endian data ('>f8')"},
      {"{'descr': '>i4', 'fortran_order': False, 'shape': (1,)}", "big-endian"},
      {"{'descr': '=f4', 'fortran_order': False, 'shape': (1,)}", "dtype '=f4' is not supp"},
      {"{'descr': '<U5', 'fortran_order': False, 'shape': (1,)}", "dtype '<U5' is not supp"},
      {"{'descr': '|b1', 'fortran_order': False, 'shape': (1,)}", "(bool) is not supported"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expects ',' or '}'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    std::string header = c.header;
    if (c.header == "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\0") header += '\0';
    expect_error<FormatError>([&] { parse(make_npy(header, 4)); }, {"x.npy: ", c.piece});
  }
  // 65 dimensions.
  std::string shape = "(";
  for (int i = 0; i < 65; ++i) shape += "1, ";
  expect_error<FormatError>([&] { parse(make_npy(dict("<f4", "False", shape + ")"), 4)); },
                            {"more than 64 dimensions"});
  // The header is quoted in the message with control characters escaped.
  expect_error<FormatError>([] { parse(make_npy("{\x01}", 0)); }, {"\\x01"});
}

TEST(NpyCorrupt, DataSizeMismatch) {
  expect_error<FormatError>(
      [] { parse(make_npy(dict("<f4", "False", "(2, 3)"), 20)); },
      {"x.npy: data has 20 bytes, but dtype '<f4' shape [2, 3] needs 24 bytes"});
  expect_error<FormatError>([] { parse(make_npy(dict("<i8", "False", "(2,)"), 17)); },
                            {"data has 17 bytes", "needs 16 bytes"});
  expect_error<FormatError>([] { parse(make_npy(dict("|u1", "False", "()"), 0)); },
                            {"data has 0 bytes", "shape []", "needs 1 bytes"});
  expect_error<FormatError>([] { parse(make_npy(dict("<f4", "False", "(0,)"), 4)); },
                            {"data has 4 bytes", "needs 0 bytes"});
}

TEST(NpyCorrupt, ReadErrorsNameThePath) {
  TempDir dir;
  const std::string missing = dir.file("missing.npy");
  expect_error<IoError>([&] { read_npy(missing); }, {missing, "No such file"});
  const std::string bad = dir.file("bad.npy");
  write_all(bad, Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  expect_error<FormatError>([&] { read_npy(bad); }, {bad + ": not a .npy file"});
  const std::string out = dir.file("no/dir/y.npy");
  expect_error<IoError>([&] { write_npy(out, Tensor({1}, {1.0f})); }, {out});
}

}  // namespace
}  // namespace recur::io
