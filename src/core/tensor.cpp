// Tensor storage: aligned allocation, reshape, layout conversion at the API boundary.
#include "recur/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "recur/error.hpp"

namespace recur {

std::string shape_str(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail<ShapeError>("negative extent in shape ", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail<ShapeError>("shape ", shape_str(shape), " has too many elements");
    n *= d;
  }
  return n;
}

void Tensor::FreeAligned::operator()(float* p) const { std::free(p); }

Tensor::Tensor(Shape shape, float fill_value) {
  resize(shape);
  fill(fill_value);
}

Tensor::Tensor(Shape shape, std::initializer_list<float> values) {
  resize(shape);
  if (static_cast<int64_t>(values.size()) != numel_)
    fail<ShapeError>("Tensor: ", values.size(), " values given for shape ", shape_str(shape_));
  std::copy(values.begin(), values.end(), data());
}

Tensor::Tensor(const Tensor& other) {
  resize(other.shape_);
  if (numel_) std::memcpy(data(), other.data(), static_cast<std::size_t>(numel_) * sizeof(float));
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    resize(other.shape_);
    if (numel_) std::memcpy(data(), other.data(), static_cast<std::size_t>(numel_) * sizeof(float));
  }
  return *this;
}

void Tensor::resize(const Shape& shape) { resize(std::span<const int64_t>(shape)); }

void Tensor::resize(std::initializer_list<int64_t> dims) {
  resize(std::span<const int64_t>(dims.begin(), dims.size()));
}

void Tensor::resize(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0)
      fail<ShapeError>("negative extent in shape ", shape_str(Shape(dims.begin(), dims.end())));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail<ShapeError>("shape ", shape_str(Shape(dims.begin(), dims.end())),
                       " has too many elements");
    n *= d;
  }
  if (n > capacity_) {
    // 64-byte alignment for vector loads; size rounded up as aligned_alloc requires.
    const std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(float) + 63) / 64 * 64;
    float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p)
      fail<Error>("out of memory allocating a tensor of shape ",
                  shape_str(Shape(dims.begin(), dims.end())));
    data_.reset(p);
    capacity_ = n;
  }
  // A repeated shape is left alone; otherwise assign() reuses the vector's storage unless the
  // rank grows, so only the first call of a new (higher) rank allocates.
  if (!std::equal(dims.begin(), dims.end(), shape_.begin(), shape_.end()))
    shape_.assign(dims.begin(), dims.end());
  numel_ = n;
}

void Tensor::fill(float value) { std::fill_n(data(), numel_, value); }

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape_numel(shape) != numel_)
    fail<ShapeError>("cannot reshape ", shape_str(shape_), " to ", shape_str(shape));
  Tensor out(*this);
  out.shape_ = shape;
  return out;
}

namespace {
// Swaps the first two axes of a rank-2 or rank-3 tensor: [A, B, F] -> [B, A, F].
Tensor swap_leading_axes(const Tensor& x) {
  if (x.rank() != 2 && x.rank() != 3)
    fail<ShapeError>("expected a sequence tensor of rank 2 or 3, got shape ", shape_str(x.shape()));
  const int64_t a = x.dim(0), b = x.dim(1), f = x.rank() == 3 ? x.dim(2) : 1;
  Shape out_shape = x.shape();
  std::swap(out_shape[0], out_shape[1]);
  Tensor out(out_shape);
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(out.data() + (j * a + i) * f, x.data() + (i * b + j) * f,
                  static_cast<std::size_t>(f) * sizeof(float));
  return out;
}
}  // namespace

Tensor batch_to_time_major(const Tensor& x) { return swap_leading_axes(x); }
Tensor time_to_batch_major(const Tensor& x) { return swap_leading_axes(x); }

}  // namespace recur
