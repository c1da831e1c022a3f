// Keras-style progress bar and epoch lines.
#include "train/progress.hpp"

#include <cmath>
#include <cstdio>

namespace recur {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// "1s", "31ms", "250us" — the largest unit that keeps the number >= 1, as Keras prints.
std::string duration_str(double s) {
  char buf[32];
  if (s >= 1.0) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s >= 1e-3) std::snprintf(buf, sizeof buf, "%.0fms", s * 1e3);
  else std::snprintf(buf, sizeof buf, "%.0fus", s * 1e6);
  return buf;
}

std::string values_str(const std::vector<std::pair<std::string, double>>& values) {
  std::string s;
  for (const auto& [k, v] : values) s += " - " + k + ": " + format_metric(v);
  return s;
}
}  // namespace

std::string format_metric(double v) {
  char buf[32];
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v != 0.0 && std::fabs(v) < 1e-3) std::snprintf(buf, sizeof buf, "%.4e", v);
  else std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

Progbar::Progbar(std::ostream& out, int verbose, bool tty)
    : out_(out), verbose_(verbose), tty_(tty && verbose == 1) {}

void Progbar::epoch_begin(int epoch, int epochs, int64_t steps) {
  steps_ = steps;
  start_ = Clock::now();
  last_draw_ = Clock::time_point{};
  last_width_ = 0;
  if (verbose_ > 0) out_ << "Epoch " << epoch + 1 << "/" << epochs << "\n" << std::flush;
}

std::string Progbar::bar(int64_t step) const {
  const int width = 30;
  const std::string digits = std::to_string(steps_);
  std::string count = std::to_string(step);
  count.insert(0, digits.size() > count.size() ? digits.size() - count.size() : 0, ' ');
  int filled = steps_ > 0 ? static_cast<int>(width * step / steps_) : width;
  std::string b = count + "/" + digits + " [";
  if (filled > 0) b += std::string(static_cast<std::size_t>(filled - 1), '=') + (step < steps_ ? ">" : "=");
  b += std::string(static_cast<std::size_t>(width - filled), '.') + "]";
  return b;
}

void Progbar::update(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  if (!tty_ || step >= steps_) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
  last_draw_ = now;
  const double elapsed = seconds_since(start_);
  const double eta = step > 0 ? elapsed / static_cast<double>(step) * static_cast<double>(steps_ - step) : 0.0;
  std::string line = bar(step) + " - ETA: " + duration_str(eta) + values_str(values);
  std::string pad = line.size() < last_width_ ? std::string(last_width_ - line.size(), ' ') : "";
  last_width_ = line.size();
  out_ << "\r" << line << pad << std::flush;
}

void Progbar::epoch_end(const std::vector<std::pair<std::string, double>>& values) {
  if (verbose_ == 0) return;
  const double elapsed = seconds_since(start_);
  const double per_step = steps_ > 0 ? elapsed / static_cast<double>(steps_) : 0.0;
  if (tty_) {
    std::string line = bar(steps_) + " - " + duration_str(elapsed) + " " + duration_str(per_step) +
                       "/step" + values_str(values);
    std::string pad = line.size() < last_width_ ? std::string(last_width_ - line.size(), ' ') : "";
    out_ << "\r" << line << pad << "\n" << std::flush;
  } else {
    out_ << steps_ << "/" << steps_ << " - " << duration_str(elapsed) << values_str(values)
         << " - " << duration_str(elapsed) << "/epoch - " << duration_str(per_step) << "/step\n"
         << std::flush;
  }
}

}  // namespace recur
