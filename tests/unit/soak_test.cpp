// Stability: a model serving 10,000 predict calls, and training for hundreds of epochs, holds its
// memory flat. The heap in use (glibc mallinfo2) is read after a warm-up and at the end; growth
// beyond a few KiB would be a leak or a cache that never stops growing. Leaks that return to
// nothing are LeakSanitizer's job (the RECUR_SANITIZE=ON suite, docs/TESTING.md).
// A sequence of 10,000 steps trains at batch 1.
// RECUR_SOAK=K multiplies the call and epoch counts by K (docs/TESTING.md, slower checks).
#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "recur/recur.hpp"

using namespace recur;

namespace {

int64_t heap_in_use() { return static_cast<int64_t>(mallinfo2().uordblks); }

double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

int64_t scale() {
  const char* s = std::getenv("RECUR_SOAK");
  return s ? std::max(1, std::atoi(s)) : 1;
}

Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t(std::move(shape));
  std::mt19937 g(seed);
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = nd(g);
  return t;
}

// Records the heap in use at the end of two chosen epochs.
class HeapAtEpochs : public Callback {
 public:
  HeapAtEpochs(int first, int last) : first_(first), last_(last) {}
  void on_epoch_end(FitState&, int epoch, Logs&) override {
    if (epoch == first_) at_first = heap_in_use(), rss_first = rss_mb();
    if (epoch == last_) at_last = heap_in_use(), rss_last = rss_mb();
  }
  int64_t at_first = -1, at_last = -1;
  double rss_first = 0, rss_last = 0;

 private:
  int first_, last_;
};

}  // namespace

TEST(Soak, TenThousandPredictCallsHoldMemoryFlat) {
  Sequential m("served");
  m.add(make_lstm("lstm", {.units = 32, .return_sequences = true}));
  m.add(make_gru("gru", {.units = 16}));
  m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 3, .activation = Activation::softmax}));
  m.build({-1, 8}, 1);
  const Tensor x = random_tensor({4, 20, 8}, 2);
  const Tensor first = m.predict(x);
  for (int i = 0; i < 100; ++i) m.predict(x);  // warm-up: workspaces and pools reach their size
  const int64_t heap0 = heap_in_use();
  const double rss0 = rss_mb();
  const int64_t calls = 10'000 * scale();
  Tensor y;
  for (int64_t i = 0; i < calls; ++i) y = m.predict(x);
  const int64_t heap1 = heap_in_use();
  const double rss1 = rss_mb();
  std::printf("predict x%lld: heap in use %lld -> %lld bytes (%+lld), RSS %.1f -> %.1f MB\n",
              static_cast<long long>(calls), static_cast<long long>(heap0),
              static_cast<long long>(heap1), static_cast<long long>(heap1 - heap0), rss0, rss1);
  EXPECT_LE(heap1 - heap0, 4096) << "the heap grew across predict calls";
  EXPECT_LE(rss1 - rss0, 1.0) << "resident memory grew across predict calls";
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_EQ(y[i], first[i]) << "predict is not repeatable";
}

TEST(Soak, HundredsOfEpochsHoldMemoryFlat) {
  Sequential m("trained");
  m.add(make_gru("gru", {.units = 16, .dropout = 0.1f}));
  m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
  m.build({-1, 3}, 4);
  m.compile(compile_options("adam", "mse", {"mae"}));
  const Tensor x = random_tensor({64, 10, 3}, 5), y = random_tensor({64, 1}, 6);
  const int epochs = static_cast<int>(300 * scale());
  auto probe = std::make_shared<HeapAtEpochs>(9, epochs - 1);
  FitOptions fo;
  fo.epochs = epochs;
  fo.batch_size = 16;
  fo.validation_split = 0.25;
  fo.verbose = 0;
  fo.callbacks = {probe};
  const History h = m.fit(x, y, fo);
  ASSERT_GE(probe->at_first, 0);
  ASSERT_GE(probe->at_last, 0);
  // The History holds one double per metric per epoch (loss, mae, val_loss, val_mae) and the
  // epoch numbers, in vectors whose capacity doubles: that much growth is expected. Beyond it,
  // a one-time ~10 KB appears after epoch 10 (the same at 300 and at 2,400 epochs).
  int64_t capacity = 1;
  while (capacity < epochs) capacity *= 2;
  const int64_t history_bytes =
      capacity * static_cast<int64_t>(h.history.size() * sizeof(double) + sizeof(int));
  std::printf("fit %d epochs: heap in use at epoch 10 %lld, at the end %lld bytes (%+lld; history "
              "<= %lld), RSS %.1f -> %.1f MB\n",
              epochs, static_cast<long long>(probe->at_first),
              static_cast<long long>(probe->at_last),
              static_cast<long long>(probe->at_last - probe->at_first),
              static_cast<long long>(history_bytes), probe->rss_first, probe->rss_last);
  EXPECT_LE(probe->at_last - probe->at_first, history_bytes + 16384)
      << "the heap grew across epochs beyond the History's own entries";
  EXPECT_LE(probe->rss_last - probe->rss_first, 1.0) << "resident memory grew across epochs";
}

// A very long sequence at batch 1 (T = 10,000) trains: back-propagation through every step stays
// finite and the loss goes down.
TEST(Soak, TenThousandStepSequenceTrainsAtBatchOne) {
  Sequential m("long");
  m.add(make_lstm("lstm", {.units = 8}));
  m.add(std::make_unique<Dense>("dense", DenseOptions{.units = 1}));
  m.build({-1, 2}, 7);
  m.compile(compile_options("adam", "mse", {}));
  Tensor x = random_tensor({1, 10'000, 2}, 8);
  Tensor y({1, 1}, 0.5f);
  FitOptions fo;
  fo.epochs = 5;
  fo.batch_size = 1;
  fo.verbose = 0;
  const History h = m.fit(x, y, fo);
  const std::vector<double>& loss = h.history.at("loss");
  ASSERT_EQ(loss.size(), 5u);
  for (double l : loss) EXPECT_TRUE(std::isfinite(l));
  EXPECT_LT(loss.back(), loss.front());
  for (float w : m.weights()) ASSERT_TRUE(std::isfinite(w));
}
