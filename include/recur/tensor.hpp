// float32 tensors. Row-major (C order). Sequences inside the library are time-major [T, B, F];
// user-facing arrays are batch-first [N, T, F] like Keras.
//
// Tensor      owns a 64-byte aligned buffer; copy = deep copy; resize() keeps the buffer when it
//             is large enough, so workspaces sized once are reused without allocating.
// TensorView  a non-owning window (pointer + shape), e.g. a layer's kernel inside the flat
//             parameter arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace recur {

using Shape = std::vector<int64_t>;

// "[2, 3, 4]"
std::string shape_str(const Shape& shape);
// Product of the extents (1 for a scalar shape []). Throws ShapeError on negative extents.
int64_t shape_numel(const Shape& shape);

struct TensorView {
  float* data = nullptr;
  Shape shape;

  int64_t numel() const { return shape_numel(shape); }
  std::span<float> span() const { return {data, static_cast<std::size_t>(numel())}; }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float fill = 0.0f);
  Tensor(Shape shape, std::initializer_list<float> values);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  // Changes the shape; reallocates only when the new size exceeds the capacity.
  // Contents are unspecified afterwards (call fill() if needed).
  void resize(const Shape& shape);
  // Same, from a brace list: reuses the shape's storage, so a repeated shape never allocates.
  void resize(std::initializer_list<int64_t> dims);
  // Same, from any contiguous extents (e.g. a std::array built from another shape): no
  // temporary Shape, so a repeated shape never allocates.
  void resize(std::span<const int64_t> dims);
  void fill(float value);

  const Shape& shape() const { return shape_; }
  int64_t dim(std::size_t i) const { return shape_.at(i); }
  std::size_t rank() const { return shape_.size(); }
  int64_t numel() const { return numel_; }
  bool empty() const { return numel_ == 0; }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator[](int64_t i) { return data_.get()[i]; }
  float operator[](int64_t i) const { return data_.get()[i]; }
  std::span<float> span() { return {data(), static_cast<std::size_t>(numel_)}; }
  std::span<const float> span() const { return {data(), static_cast<std::size_t>(numel_)}; }
  TensorView view() { return {data(), shape_}; }

  // Same data, new shape with the same number of elements (ShapeError otherwise).
  Tensor reshaped(const Shape& shape) const;

 private:
  struct FreeAligned {
    void operator()(float* p) const;
  };
  Shape shape_;
  int64_t numel_ = 0;
  int64_t capacity_ = 0;
  std::unique_ptr<float[], FreeAligned> data_;
};

// Copies between user layout [N, T, F] and the library's time-major [T, N, F].
Tensor batch_to_time_major(const Tensor& x);
Tensor time_to_batch_major(const Tensor& x);

}  // namespace recur
