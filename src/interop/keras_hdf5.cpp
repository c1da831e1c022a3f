// HDF5 access for the Keras importer (see keras_hdf5.hpp): link-by-link path walking with hard
// links only, string attributes, float datasets checked before they are read.
#include "interop/keras_hdf5.hpp"

#include <hdf5.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "io/safetensors.hpp"
#include "recur/error.hpp"

namespace recur::interop {

static_assert(std::is_same_v<hid_t, std::int64_t>, "hid_t is expected to be int64_t");

namespace {

// Largest attribute payload read (Keras model_config is a few KB to a few MB).
constexpr std::uint64_t kMaxAttrBytes = 256ull << 20;
constexpr int kMaxRank = 8;

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer close) : id_(id), close_(close) {}
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
      close_ = o.close_;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  hid_t release() { return std::exchange(id_, -1); }

 private:
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// The innermost message of HDF5's error stack (automatic printing is off), for error messages.
std::string hdf5_error() {
  std::string text;
  auto walk = [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
    auto* out = static_cast<std::string*>(data);
    if (n == 0 && e && e->desc) *out = e->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "" : " (HDF5: " + text + ")";
}

void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::vector<std::string> split_path(const std::string& path, const std::string& file) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "." || part == "..")
      fail<FormatError>(file, ": path '", path, "' has a '", part, "' component");
    if (!part.empty()) out.push_back(std::move(part));
    start = end + 1;
  }
  return out;
}

const char* link_kind(H5L_type_t t) {
  switch (t) {
    case H5L_TYPE_SOFT: return "a soft link";
    case H5L_TYPE_EXTERNAL: return "an external link (to another file)";
    default: return "a user-defined link";
  }
}

}  // namespace

H5Reader::H5Reader(std::int64_t file, std::string name, std::vector<std::uint8_t> image)
    : file_(file), name_(std::move(name)), image_(std::move(image)) {}

H5Reader::H5Reader(H5Reader&& other) noexcept
    : file_(std::exchange(other.file_, -1)),
      name_(std::move(other.name_)),
      image_(std::move(other.image_)) {}

H5Reader::~H5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

H5Reader H5Reader::open(const std::string& path) {
  quiet_hdf5();
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.ok() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0)
    fail<InternalError>("HDF5: cannot create a file access property list", hdf5_error());
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (f < 0)
    fail<FormatError>(path, ": cannot open as an HDF5 file", hdf5_error());
  return H5Reader(f, path, {});
}

H5Reader H5Reader::open_image(std::vector<std::uint8_t> image, const std::string& name) {
  quiet_hdf5();
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (image.size() < 8 || std::memcmp(image.data(), kSignature, 8) != 0)
    fail<FormatError>(name, ": not an HDF5 file (no HDF5 signature at its start)");
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.ok() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0 ||
      H5Pset_fapl_core(fapl.get(), 1 << 20, 0) < 0 ||
      H5Pset_file_image(fapl.get(), image.data(), image.size()) < 0)
    fail<FormatError>(name, ": cannot set up an in-memory HDF5 file", hdf5_error());
  const hid_t f = H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (f < 0) fail<FormatError>(name, ": cannot open as an HDF5 file", hdf5_error());
  return H5Reader(f, name, std::move(image));
}

std::string H5Reader::where(const std::string& kind, const std::string& path) const {
  return name_ + ": " + kind + " '" + path + "'";
}

std::int64_t H5Reader::open_path(const std::string& path, bool must_exist) const {
  Id cur(H5Oopen(file_, "/", H5P_DEFAULT), H5Oclose);
  if (!cur.ok()) fail<FormatError>(name_, ": cannot open the root group", hdf5_error());
  std::string walked;
  for (const std::string& part : split_path(path, name_)) {
    walked += (walked.empty() ? "" : "/") + part;
    const htri_t exists = H5Lexists(cur.get(), part.c_str(), H5P_DEFAULT);
    if (exists < 0) fail<FormatError>(where("object", walked), ": cannot be looked up", hdf5_error());
    if (exists == 0) {
      if (must_exist) fail<FormatError>(where("object", walked), " does not exist");
      return -1;
    }
    H5L_info_t info;
    if (H5Lget_info(cur.get(), part.c_str(), &info, H5P_DEFAULT) < 0)
      fail<FormatError>(where("link", walked), ": cannot be read", hdf5_error());
    if (info.type != H5L_TYPE_HARD)
      fail<FormatError>(where("link", walked), " is ", link_kind(info.type),
                        "; recur refuses links other than hard links");
    Id next(H5Oopen(cur.get(), part.c_str(), H5P_DEFAULT), H5Oclose);
    if (!next.ok()) fail<FormatError>(where("object", walked), ": cannot be opened", hdf5_error());
    cur = std::move(next);
  }
  return cur.release();  // the caller owns it (and wraps it again)
}

bool H5Reader::exists(const std::string& path) const {
  Id obj(open_path(path, false), H5Oclose);
  return obj.ok();
}

bool H5Reader::is_group(const std::string& path) const {
  Id obj(open_path(path, false), H5Oclose);
  return obj.ok() && H5Iget_type(obj.get()) == H5I_GROUP;
}

std::vector<std::string> H5Reader::children(const std::string& path) const {
  Id obj(open_path(path, true), H5Oclose);
  if (H5Iget_type(obj.get()) != H5I_GROUP) fail<FormatError>(where("object", path), " is not a group");
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    auto* out = static_cast<std::vector<std::string>*>(data);
    if (out->size() >= 1'000'000) return 1;  // stop: no Keras layer group is that large
    out->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Literate(obj.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names) < 0)
    fail<FormatError>(where("group", path), ": cannot list its members", hdf5_error());
  return names;
}

namespace {

// Reads one string attribute (scalar or 1-d array of strings); an empty array of any type is
// an empty list.
std::vector<std::string> read_string_attr(hid_t obj, const std::string& attr,
                                          const std::string& where) {
  Id a(H5Aopen(obj, attr.c_str(), H5P_DEFAULT), H5Aclose);
  if (!a.ok()) fail<FormatError>(where, ": cannot open attribute '", attr, "'", hdf5_error());
  Id type(H5Aget_type(a.get()), H5Tclose);
  Id space(H5Aget_space(a.get()), H5Sclose);
  if (!type.ok() || !space.ok())
    fail<FormatError>(where, ": cannot read attribute '", attr, "'", hdf5_error());
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail<FormatError>(where, ": attribute '", attr, "' has no valid dataspace");
  if (n == 0) return {};
  if (H5Tget_class(type.get()) != H5T_STRING)
    fail<FormatError>(where, ": attribute '", attr, "' is not a string");
  std::vector<std::string> out;
  const auto count = static_cast<std::size_t>(n);
  if (H5Tis_variable_str(type.get()) > 0) {
    if (count > kMaxAttrBytes / sizeof(char*))
      fail<FormatError>(where, ": attribute '", attr, "' has ", count, " strings (too many)");
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    if (!mem.ok() || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
      fail<InternalError>("HDF5: cannot make a string type", hdf5_error());
    std::vector<char*> ptrs(count, nullptr);
    if (H5Aread(a.get(), mem.get(), ptrs.data()) < 0)
      fail<FormatError>(where, ": cannot read attribute '", attr, "'", hdf5_error());
    std::uint64_t total = 0;
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      total += out.back().size();
    }
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    if (total > kMaxAttrBytes)
      fail<FormatError>(where, ": attribute '", attr, "' holds ", total, " bytes (limit ",
                        kMaxAttrBytes, ")");
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || count > kMaxAttrBytes / size)
    fail<FormatError>(where, ": attribute '", attr, "' is too large (", count, " strings of ",
                      size, " bytes; limit ", kMaxAttrBytes, " bytes)");
  std::vector<char> buf(count * size);  // [count, size] fixed-length strings
  Id mem(H5Tcopy(type.get()), H5Tclose);
  if (!mem.ok() || H5Aread(a.get(), mem.get(), buf.data()) < 0)
    fail<FormatError>(where, ": cannot read attribute '", attr, "'", hdf5_error());
  const bool space_pad = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
  for (std::size_t i = 0; i < count; ++i) {
    const char* s = buf.data() + i * size;
    std::size_t len = 0;
    while (len < size && s[len] != '\0') ++len;
    if (space_pad)
      while (len > 0 && s[len - 1] == ' ') --len;
    out.emplace_back(s, len);
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::string>> H5Reader::string_attr(const std::string& path,
                                                              const std::string& attr) const {
  Id obj(open_path(path, true), H5Oclose);
  const std::string w = where("object", path.empty() ? "/" : path);
  auto has = [&](const std::string& a) {
    const htri_t e = H5Aexists(obj.get(), a.c_str());
    if (e < 0) fail<FormatError>(w, ": cannot look up attribute '", a, "'", hdf5_error());
    return e > 0;
  };
  if (has(attr)) return read_string_attr(obj.get(), attr, w);
  // Keras 2 stores attributes over 64 KB as attr0, attr1, ... (one list, in chunks).
  if (!has(attr + "0")) return std::nullopt;
  std::vector<std::string> out;
  for (int i = 0; has(attr + std::to_string(i)); ++i) {
    std::vector<std::string> part = read_string_attr(obj.get(), attr + std::to_string(i), w);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::optional<std::string> H5Reader::scalar_string_attr(const std::string& path,
                                                        const std::string& attr) const {
  std::optional<std::vector<std::string>> v = string_attr(path, attr);
  if (!v) return std::nullopt;
  if (v->size() != 1)
    fail<FormatError>(where("object", path.empty() ? "/" : path), ": attribute '", attr,
                      "' holds ", v->size(), " strings, expected one");
  return (*v)[0];
}

namespace {

struct DatasetHandles {
  Id dset, dcpl, type, space;
  Shape shape;
  H5D_layout_t layout = H5D_LAYOUT_ERROR;
};

// Opens a dataset and applies the checks that do not depend on the expected shape.
DatasetHandles open_dataset(const H5Reader& r, std::int64_t id, const std::string& path) {
  DatasetHandles h;
  const std::string w = r.where("dataset", path);
  h.dset = Id(id, H5Oclose);
  if (H5Iget_type(h.dset.get()) != H5I_DATASET) fail<FormatError>(w, " is not a dataset");
  h.dcpl = Id(H5Dget_create_plist(h.dset.get()), H5Pclose);
  if (!h.dcpl.ok()) fail<FormatError>(w, ": cannot read its creation properties", hdf5_error());
  h.layout = H5Pget_layout(h.dcpl.get());
  if (h.layout == H5D_VIRTUAL)
    fail<FormatError>(w, " is a virtual dataset (its data lives in other datasets or files); "
                         "recur refuses virtual datasets");
  const int external = H5Pget_external_count(h.dcpl.get());
  if (external < 0) fail<FormatError>(w, ": cannot read its storage properties", hdf5_error());
  if (external > 0)
    fail<FormatError>(w, " keeps its data in ", external,
                      " external file(s); recur refuses external storage");
  h.type = Id(H5Dget_type(h.dset.get()), H5Tclose);
  if (!h.type.ok()) fail<FormatError>(w, ": cannot read its type", hdf5_error());
  if (H5Tget_class(h.type.get()) != H5T_FLOAT)
    fail<FormatError>(w, " does not hold floating-point numbers");
  const std::size_t esize = H5Tget_size(h.type.get());
  if (esize != 2 && esize != 4 && esize != 8)
    fail<FormatError>(w, " holds ", esize, "-byte floats (expected 2, 4 or 8 bytes)");
  h.space = Id(H5Dget_space(h.dset.get()), H5Sclose);
  if (!h.space.ok()) fail<FormatError>(w, ": cannot read its dataspace", hdf5_error());
  const H5S_class_t sclass = H5Sget_simple_extent_type(h.space.get());
  if (sclass != H5S_SIMPLE && sclass != H5S_SCALAR)
    fail<FormatError>(w, " has no simple dataspace");
  const int rank = H5Sget_simple_extent_ndims(h.space.get());
  if (rank < 0 || rank > kMaxRank)
    fail<FormatError>(w, " has rank ", rank, " (at most ", kMaxRank, ")");
  hsize_t dims[kMaxRank] = {};
  if (rank > 0 && H5Sget_simple_extent_dims(h.space.get(), dims, nullptr) < 0)
    fail<FormatError>(w, ": cannot read its dimensions", hdf5_error());
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > static_cast<hsize_t>(std::numeric_limits<std::int64_t>::max()))
      fail<FormatError>(w, " has an impossible dimension ", dims[i]);
    h.shape.push_back(static_cast<std::int64_t>(dims[i]));
  }
  return h;
}

}  // namespace

Shape H5Reader::dataset_shape(const std::string& path) const {
  DatasetHandles h = open_dataset(*this, open_path(path, true), path);
  return h.shape;
}

std::vector<float> H5Reader::read_floats(const std::string& path, const Shape& expected,
                                         const std::string& what) const {
  DatasetHandles h = open_dataset(*this, open_path(path, true), path);
  const std::string w = where("dataset", path);
  if (h.shape != expected)
    fail<FormatError>(w, " has shape ", shape_str(h.shape), ", expected ", shape_str(expected),
                      " for ", what);
  const std::size_t esize = H5Tget_size(h.type.get());
  const std::optional<std::uint64_t> nbytes = io::detail::checked_nbytes(h.shape, esize);
  if (!nbytes) fail<FormatError>(w, " is too large (", shape_str(h.shape), ")");
  const std::uint64_t numel = *nbytes / esize;
  hsize_t file_size = 0;
  if (H5Fget_filesize(file_, &file_size) < 0)
    fail<FormatError>(name_, ": cannot read the file size", hdf5_error());
  // The data must be stored in full, in this file: a dataset created but (partly) never written
  // reads as fill values, and claimed sizes must be backed by bytes present.
  const hsize_t storage = H5Dget_storage_size(h.dset.get());
  if (numel > 0) {
    if (storage > file_size)
      fail<FormatError>(w, " claims ", storage, " stored bytes, more than the file's ", file_size);
    if (h.layout == H5D_CHUNKED) {
      const int rank = static_cast<int>(h.shape.size());
      hsize_t chunk[kMaxRank] = {};
      if (H5Pget_chunk(h.dcpl.get(), rank, chunk) != rank)
        fail<FormatError>(w, ": cannot read its chunk shape", hdf5_error());
      std::uint64_t needed = 1, chunk_elems = 1;
      for (int i = 0; i < rank; ++i) {
        if (chunk[i] == 0) fail<FormatError>(w, " has a zero chunk dimension");
        needed *= (static_cast<std::uint64_t>(h.shape[static_cast<std::size_t>(i)]) + chunk[i] -
                   1) / chunk[i];
        chunk_elems *= chunk[i];
      }
      hsize_t stored = 0;
      if (H5Dget_num_chunks(h.dset.get(), h.space.get(), &stored) < 0)
        fail<FormatError>(w, ": cannot count its chunks", hdf5_error());
      if (stored != needed)
        fail<FormatError>(w, " is not fully written: ", stored, " of ", needed,
                          " chunks are stored");
      if (H5Pget_nfilters(h.dcpl.get()) == 0) {
        if (storage != needed * chunk_elems * esize)
          fail<FormatError>(w, " stores ", storage, " bytes, expected ",
                            needed * chunk_elems * esize);
      } else if (*nbytes / 1100 > storage) {
        // Deflate expands at most ~1032x: anything more is not data that is really there.
        fail<FormatError>(w, " claims ", *nbytes, " bytes from only ", storage,
                          " compressed bytes");
      }
    } else if (storage != *nbytes) {
      fail<FormatError>(w, " stores ", storage, " bytes, expected ", *nbytes, " for shape ",
                        shape_str(h.shape), " (", esize, "-byte floats)");
    }
  }
  std::vector<float> out(static_cast<std::size_t>(numel));  // C order, shape h.shape
  if (numel > 0 &&
      H5Dread(h.dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail<FormatError>(w, ": cannot read its data", hdf5_error());
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]))
      fail<FormatError>(w, " holds a non-finite value (", out[i], ") at flat index ", i);
  return out;
}

void rehearse_hdf5_read(const std::string& file, const std::function<void()>& read) {
  const pid_t child = fork();
  if (child < 0) return;
  if (child == 0) {
    const rlimit no_core{0, 0};  // a crash here is expected: no core file for it
    setrlimit(RLIMIT_CORE, &no_core);
    try {
      read();
    } catch (...) {  // met again, and reported, by the caller's own run
    }
    _exit(0);  // no destructors, no atexit handlers: the parent's state stays the parent's
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return;
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    fail<FormatError>(file, ": damaged HDF5 file: the HDF5 library crashes reading it (signal ",
                      sig, ", ", strsignal(sig), "); nothing was imported");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)  // e.g. a sanitizer's report on a crash
    fail<FormatError>(file, ": damaged HDF5 file: reading it ended the trial process with exit "
                      "status ", WEXITSTATUS(status), "; nothing was imported");
}

}  // namespace recur::interop
