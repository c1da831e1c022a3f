// A small, defensive reader for the HDF5 files Keras writes (Keras 2 .h5 models and weights,
// Keras 3 model.weights.h5): groups, string attributes, float datasets.
//
// Everything is addressed by a path relative to the root ("model_weights/lstm/..."), walked one
// link at a time: every link on the way must be a hard link (external and soft links are
// refused: they can point into other files or elsewhere). Datasets with external storage or a
// virtual layout are refused too, and a dataset's shape and stored byte count are checked before
// any memory is allocated for it. HDF5's automatic error printing is turned off; every failure is
// a FormatError naming the file and the group / dataset / attribute.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "recur/tensor.hpp"

namespace recur::interop {

class H5Reader {
 public:
  // Opens an HDF5 file on disk, read-only; `path` names it in messages.
  static H5Reader open(const std::string& path);
  // Opens an HDF5 file image held in memory (e.g. model.weights.h5 inside a .keras zip); `name`
  // names it in messages.
  static H5Reader open_image(std::vector<std::uint8_t> image, const std::string& name);
  ~H5Reader();
  H5Reader(H5Reader&& other) noexcept;
  H5Reader& operator=(H5Reader&&) = delete;
  H5Reader(const H5Reader&) = delete;

  const std::string& name() const { return name_; }

  // Whether `path` exists (every link on the way checked). Throws on a non-hard link.
  bool exists(const std::string& path) const;
  bool is_group(const std::string& path) const;
  // Link names inside the group at `path`, in name order.
  std::vector<std::string> children(const std::string& path) const;

  // A string attribute of the object at `path` (a scalar string or an array of strings, fixed
  // or variable length; an empty array of any type reads as an empty list). Keras 2 splits long
  // attributes into name0, name1, ...: those are joined. nullopt when absent.
  std::optional<std::vector<std::string>> string_attr(const std::string& path,
                                                      const std::string& attr) const;
  std::optional<std::string> scalar_string_attr(const std::string& path,
                                                const std::string& attr) const;

  // The shape of the float dataset at `path`, after the checks above (refuses virtual datasets,
  // external storage, non-float types).
  Shape dataset_shape(const std::string& path) const;
  // Reads the dataset as float32 after checking that its shape is `expected` and that the file
  // stores all of its bytes; `what` describes it for messages (e.g. "LSTM 'lstm' kernel").
  // Non-finite values are refused.
  std::vector<float> read_floats(const std::string& path, const Shape& expected,
                                 const std::string& what) const;

  // "<file>: dataset 'path'" style prefixes for messages.
  std::string where(const std::string& kind, const std::string& path) const;

 private:
  H5Reader(std::int64_t file, std::string name, std::vector<std::uint8_t> image);
  std::int64_t open_path(const std::string& path, bool must_exist) const;  // hid_t or -1

  std::int64_t file_ = -1;  // hid_t
  std::string name_;
  std::vector<std::uint8_t> image_;  // the in-memory file image, kept alive while open
};

// libhdf5 trusts some lengths stored in a file: in a damaged one, a variable-length string
// whose global-heap object claims more bytes than the string holds makes H5Aread copy past its
// buffer and kill the process. Such files get a clean error instead: `read` (everything one
// import reads through H5Reader; it must start no threads) runs once in a forked child process
// first. If the child dies from a signal (or exits with a non-zero status, as under a
// sanitizer), FormatError names `file` and the signal and the caller must not read the file;
// otherwise the caller runs `read` for real (an error the child met comes again there). Where
// fork fails, nothing is rehearsed.
void rehearse_hdf5_read(const std::string& file, const std::function<void()>& read);

}  // namespace recur::interop
