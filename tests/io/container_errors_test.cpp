// Damaged containers: .npz archives whose zip structure or members are wrong, safetensors limits,
// and recur's model-file metadata (docs/ERRORS.md ".npz archives", "Model files"). The .npz rows
// start from a valid archive written by encode_npz and change the bytes of one zip field; the
// model-file rows start from a saved model and change one metadata entry or tensor.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/model_io.hpp"
#include "io/npy.hpp"
#include "io/npz.hpp"
#include "io/safetensors.hpp"
#include "recur/recur.hpp"
#include "support/errors.hpp"
#include "support/files.hpp"

namespace {

using recur::FormatError;
using recur::InvalidArgument;
using recur::io::DType;
using recur::io::NpyArray;
using recur::io::NpzMember;
using recur::testing::error_of;
using recur::testing::expect_error;
using Bytes = std::vector<std::uint8_t>;

// ---- .npz: byte-level edits of a valid archive ------------------------------------------------

std::uint64_t get_le(const Bytes& b, std::size_t pos, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(b[pos + i]) << (8 * i);
  return v;
}
void set_le(Bytes& b, std::size_t pos, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b[pos + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
Bytes le_bytes(std::uint64_t v, std::size_t n) {
  Bytes out(n);
  set_le(out, 0, v, n);
  return out;
}

// A valid archive with members "x" (F32 [2]) and, when `two`, "y" (F32 [1]).
Bytes archive(bool two = false) {
  std::vector<NpzMember> members = {{"x", NpyArray{DType::F32, {2}, Bytes(8, 0)}}};
  if (two) members.push_back({"y", NpyArray{DType::F32, {1}, Bytes(4, 0)}});
  return recur::io::encode_npz(members, "w.npz");
}
// Offsets of the end record, the central directory, and the first central entry's fields.
std::size_t eocd(const Bytes& b) { return b.size() - 22; }
std::size_t central(const Bytes& b) { return get_le(b, eocd(b) + 16, 4); }

// Inserts `extra` just before the end-of-central-directory record.
void insert_before_end(Bytes& b, const Bytes& extra) {
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(eocd(b)), extra.begin(), extra.end());
}

// A zip64 end record (56 bytes) claiming `count` members, then its 20-byte locator pointing at
// `record_at` (where the record lands when inserted before the end record of `b`).
void add_zip64(Bytes& b, std::uint64_t count, std::uint64_t record_at) {
  const std::uint64_t cd = central(b), cd_size = get_le(b, eocd(b) + 12, 4);
  Bytes rec;
  for (const Bytes& part : {le_bytes(0x06064b50, 4), le_bytes(44, 8), le_bytes(45, 2),
                            le_bytes(45, 2), le_bytes(0, 4), le_bytes(0, 4), le_bytes(count, 8),
                            le_bytes(count, 8), le_bytes(cd_size, 8), le_bytes(cd, 8)})
    rec.insert(rec.end(), part.begin(), part.end());
  Bytes loc;
  for (const Bytes& part :
       {le_bytes(0x07064b50, 4), le_bytes(0, 4), le_bytes(record_at, 8), le_bytes(1, 4)})
    loc.insert(loc.end(), part.begin(), part.end());
  insert_before_end(b, rec);
  insert_before_end(b, loc);
  set_le(b, eocd(b) + 10, 0xFFFF, 2);
  set_le(b, eocd(b) + 8, 0xFFFF, 2);
}

struct NpzCase {
  const char* name;
  std::function<Bytes()> make;
  std::string fragment;
};

TEST(NpzDamaged, ZipStructure) {
  const std::vector<NpzCase> cases = {
      {"npy given as npz",
       [] { return recur::io::encode_npy(NpyArray{DType::F32, {1}, Bytes(4, 0)}, "a.npy"); },
       "d.npz: this is a .npy file, not an .npz archive"},
      {"zip64 count without locator",
       [] {
         Bytes b = archive();
         set_le(b, eocd(b) + 10, 0xFFFF, 2);
         return b;
       },
       "d.npz: zip64 archive without its zip64 locator"},
      {"zip64 record out of bounds",
       [] {
         Bytes b = archive();
         add_zip64(b, 1, 0);
         set_le(b, eocd(b) - 20 + 8, 1u << 30, 8);  // the locator points far past the end
         return b;
       },
       "d.npz: the zip64 end record is missing or out of bounds"},
      {"too many members",
       [] {
         Bytes b = archive();
         add_zip64(b, 200000, eocd(b));
         return b;
       },
       "d.npz: 200000 members is too many"},
      {"central directory outside",
       [] {
         Bytes b = archive();
         set_le(b, eocd(b) + 16, b.size() + 100, 4);
         return b;
       },
       "d.npz: the central directory lies outside the file"},
      {"entry 2 missing",
       [] {
         Bytes b = archive();
         set_le(b, eocd(b) + 10, 2, 2);
         return b;
       },
       "d.npz: central directory entry 2 is damaged"},
      {"entry runs past its end",
       [] {
         Bytes b = archive();
         set_le(b, central(b) + 28, 200, 2);  // name length
         return b;
       },
       "d.npz: central directory entry 1 runs past its end"},
      {"bad zip64 field",
       [] {
         Bytes b = archive();
         const std::size_t c = central(b);
         const std::size_t name_len = get_le(b, c + 28, 2);
         // A zip64 extra field with no room for the 8-byte size that csize = 0xFFFFFFFF needs.
         const Bytes extra = {0x01, 0x00, 0x00, 0x00};
         b.insert(b.begin() + static_cast<std::ptrdiff_t>(c + 46 + name_len), extra.begin(),
                  extra.end());
         set_le(b, c + 30, 4, 2);
         set_le(b, c + 20, 0xFFFFFFFF, 4);
         set_le(b, eocd(b) + 12, get_le(b, eocd(b) + 12, 4) + 4, 4);
         return b;
       },
       "d.npz: member 'x.npy': bad zip64 field"},
      {"local header missing",
       [] {
         Bytes b = archive();
         set_le(b, central(b) + 42, 5, 4);
         return b;
       },
       "d.npz, member 'x.npy': the local header is missing or out of bounds"},
      {"data past the end",
       [] {
         Bytes b = archive();
         set_le(b, central(b) + 20, 0x7FFFFFFF, 4);
         set_le(b, central(b) + 24, 0x7FFFFFFF, 4);
         return b;
       },
       "d.npz, member 'x.npy': the data runs past the end of the file"},
      {"different sizes",
       [] {
         Bytes b = archive();
         set_le(b, central(b) + 20, get_le(b, central(b) + 24, 4) - 2, 4);
         return b;
       },
       "d.npz, member 'x.npy': stored member with different sizes ("},
  };
  for (const NpzCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes b = c.make();
    expect_error<FormatError>([&] { recur::io::parse_npz(b, "d.npz"); }, c.fragment);
  }
}

TEST(NpzDamaged, MembersRecurCannotRead) {
  const std::vector<NpzCase> cases = {
      {"encrypted",
       [] {
         Bytes b = archive();
         set_le(b, central(b) + 8, 1, 2);
         return b;
       },
       "d.npz, member 'x.npy': encrypted members are not supported"},
      {"method 12",
       [] {
         Bytes b = archive();
         set_le(b, central(b) + 10, 12, 2);
         return b;
       },
       "d.npz, member 'x.npy': compression method 12 is not supported (uncompressed .npz files "
       "only)"},
      {"not npy",
       [] {
         Bytes b = archive();
         b[central(b) + 46 + 2] = 'b';  // x.npy -> x.bpy
         return b;
       },
       "d.npz, member 'x.bpy': not a .npy member"},
      {"twice",
       [] {
         Bytes b = archive(true);
         const std::size_t second = central(b) + 46 + get_le(b, central(b) + 28, 2) +
                                    get_le(b, central(b) + 30, 2) + get_le(b, central(b) + 32, 2);
         b[second + 46] = 'x';  // y.npy -> x.npy
         return b;
       },
       "d.npz, member 'x.npy': appears twice"},
  };
  for (const NpzCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes b = c.make();
    expect_error<FormatError>([&] { recur::io::parse_npz(b, "d.npz"); }, c.fragment);
  }
}

TEST(NpzDamaged, WritingInconsistentArraysAndTooManyMembers) {
  expect_error<FormatError>(
      [] { recur::io::encode_npy(NpyArray{DType::F32, {-1}, Bytes()}, "a.npy"); },
      "a.npy: invalid shape [-1]");
  expect_error<FormatError>(
      [] { recur::io::encode_npy(NpyArray{DType::F32, {3}, Bytes(4, 0)}, "a.npy"); },
      "a.npy: 4 bytes of data, but dtype F32 shape [3] needs 12");
  std::vector<NpzMember> many;
  many.reserve(0xFFFF);
  for (int i = 0; i < 0xFFFF; ++i) {
    std::string name = "m";  // (not "m" + ...: g++ 12 warns falsely about that)
    name += std::to_string(i);
    many.push_back({std::move(name), NpyArray{DType::U8, {0}, Bytes()}});
  }
  expect_error<InvalidArgument>([&] { recur::io::encode_npz(many, "w.npz"); },
                                "w.npz: too many members for a zip file");
}

// ---- safetensors limits -----------------------------------------------------------------------

Bytes safetensors_bytes(const std::string& header) {
  Bytes b = le_bytes(header.size(), 8);
  b.insert(b.end(), header.begin(), header.end());
  return b;
}

TEST(SafetensorsLimits, ShortFileRankAndTensorCount) {
  const Bytes three = {1, 2, 3};
  expect_error<FormatError>([&] { recur::io::parse_safetensors(three, "s.st"); },
                            "s.st: file has 3 bytes, too short for a safetensors file (8-byte "
                            "header length)");
  const Bytes rank9 = safetensors_bytes(
      R"({"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})");
  expect_error<FormatError>([&] { recur::io::parse_safetensors(rank9, "s.st"); },
                            "tensor 'w': shape [1,1,1,1,1,1,1,1,1] has rank 9; at most 8 is "
                            "supported");
}

TEST(SafetensorsLimits, WritingTooManyTensorsAndEmptyPaths) {
  const recur::io::RawTensor one{DType::F32, {1}, Bytes(4, 0)};
  std::vector<std::pair<std::string, const recur::io::RawTensor*>> many(100001, {"t", &one});
  // The count is checked before any name or byte is looked at.
  expect_error<FormatError>([&] { recur::io::write_safetensors("w.st", {}, many); },
                            "w.st: 100001 tensors; at most 100000 are supported");
  expect_error<recur::IoError>([] { recur::io::write_file_atomic("", Bytes{}); },
                                "(empty path): cannot write a file with an empty name");
  expect_error<FormatError>(
      [] {
        // 65 axes of extent 1: one value, one axis more than numpy's 64.
        recur::io::write_npy("r.npy", NpyArray{DType::F32, recur::Shape(65, 1), Bytes(4, 0)});
      },
      "r.npy: rank 65 exceeds the .npy limit of 64");
  EXPECT_FALSE(std::filesystem::exists("r.npy"));
  EXPECT_FALSE(std::filesystem::exists("w.st"));
}

}  // namespace

// ---- model-file metadata ----------------------------------------------------------------------

namespace {

class ModelFileErrors : public recur::testing::TempDirTest {
 protected:
  // A built Sequential: LSTM 'lstm' (2 units) on [T, 3] sequences, then Dense 'dense'.
  static recur::Sequential small_model() {
    recur::Sequential m("m");
    recur::RecurrentOptions o;
    o.units = 2;
    m.add(recur::make_lstm("lstm", o));
    recur::DenseOptions d;
    d.units = 1;
    m.add(std::make_unique<recur::Dense>("dense", d));
    m.build({-1, 3});
    return m;
  }
  // The saved model's file with `edit` applied, written to path(name).
  std::string edited(const std::string& name,
                     const std::function<void(recur::io::SafetensorsFile&)>& edit) {
    const std::string base = path("base.safetensors");
    recur::save_model(base, small_model());
    recur::io::SafetensorsFile f = recur::io::read_safetensors(base);
    edit(f);
    std::vector<std::pair<std::string, const recur::io::RawTensor*>> tensors;
    for (const auto& [n, raw] : f.tensors) tensors.emplace_back(n, &raw);
    const std::string out = path(name);
    recur::io::write_safetensors(out, f.metadata, tensors);
    return out;
  }
};

TEST_F(ModelFileErrors, MetadataAndExtraTensors) {
  const std::string v2 =
      edited("v2.st", [](recur::io::SafetensorsFile& f) { f.metadata.insert_or_assign("recur.format", std::string("2")); });
  expect_error<FormatError>([&] { recur::load_model(v2); },
                            v2 + ": recur.format is \"2\"; this version reads format \"1\"");
  const std::string bad_json =
      edited("j.st", [](recur::io::SafetensorsFile& f) { f.metadata.insert_or_assign("recur.model", std::string("{oops")); });
  expect_error<FormatError>([&] { recur::load_model(bad_json); },
                            bad_json + ": recur.model is not valid JSON: ");
  const std::string extra = edited("x.st", [](recur::io::SafetensorsFile& f) {
    f.tensors["stray/w"] = recur::io::RawTensor{DType::F32, {1}, Bytes(4, 0)};
  });
  expect_error<FormatError>([&] { recur::load_model(extra); },
                            extra + ": tensor 'stray/w' does not belong to any layer of the model");
}

TEST_F(ModelFileErrors, SequentialExpectedAndSaving) {
  // A functional model saved, then asked for as a Sequential.
  recur::Functional g("f");
  recur::DenseOptions d;
  d.units = 1;
  const recur::NodeRef x = g.input("x", {4, 2});
  recur::RecurrentOptions o;
  o.units = 2;
  const recur::NodeRef h = g.call(recur::make_gru("gru", o), {x}).at(0);
  const recur::NodeRef y = g.call(std::make_unique<recur::Dense>("out", d), {h}).at(0);
  g.build({x}, {y}, 0);
  const std::string fpath = path("f.st");
  recur::save_model(fpath, g);
  expect_error<recur::ConfigError>(
      [&] { recur::load_sequential(fpath); },
      fpath + ": expected a Sequential model, the file holds a Functional model");

  recur::Sequential unbuilt("u");
  unbuilt.add(std::make_unique<recur::Dense>("dense", d));
  expect_error<InvalidArgument>([&] { recur::save_model(path("u.st"), unbuilt); },
                                "save_model: the model is not built");
  expect_error<InvalidArgument>(
      [&] { recur::save_model(path("r.st"), small_model(), {{"recur.format", "9"}}); },
      "save_model: metadata may not set recur.format or recur.model");
  EXPECT_FALSE(std::filesystem::exists(path("u.st")));
  EXPECT_FALSE(std::filesystem::exists(path("r.st")));
}

}  // namespace
