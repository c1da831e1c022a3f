// Keras-style progress output for fit/evaluate.
//
//   Epoch 3/10
//   12/32 [=========>....................] - ETA: 1s - loss: 0.1234 - mae: 0.2345      (TTY, verbose 1)
//   32/32 [==============================] - 1s 31ms/step - loss: 0.1200 - val_loss: 0.1301
//   32/32 - 1s - loss: 0.1200 - val_loss: 0.1301 - 1s/epoch - 31ms/step              (plain)
// verbose 1 on a terminal redraws one line (at most ~10 times a second); verbose 1 off a
// terminal and verbose 2 print one plain line per epoch; verbose 0 prints nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace recur {

class Progbar {
 public:
  // `tty`: the stream is a terminal (redraw in place).
  Progbar(std::ostream& out, int verbose, bool tty);
  void epoch_begin(int epoch, int epochs, int64_t steps);
  // After batch `step` (1-based) with the running values so far.
  void update(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  // End of the epoch, with training and validation values.
  void epoch_end(const std::vector<std::pair<std::string, double>>& values);

 private:
  std::string bar(int64_t step) const;
  std::ostream& out_;
  int verbose_;
  bool tty_;
  int64_t steps_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::size_t last_width_ = 0;
};

// Keras's number format in progress lines: 4 significant decimals, exponent form when tiny.
std::string format_metric(double v);

}  // namespace recur
