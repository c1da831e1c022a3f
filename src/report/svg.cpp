// Standalone SVG pictures: line charts (loss curves, forecasts) and confusion matrices.
// Hand-written SVG 1.1 with no scripts or external references; written atomically.
#include "recur/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>
#include <sstream>
#include <string>

#include "io/atomic_file.hpp"
#include "recur/error.hpp"

namespace recur::report {

namespace {

// A colour-blind-friendly palette (Tableau 10).
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 (except tab/newline).
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += ' ';
        else out += c;
    }
  }
  return out;
}

// Cuts a label to `n` characters (UTF-8 aware) with an ellipsis.
std::string shorten(const std::string& s, std::size_t n) {
  std::size_t chars = 0, i = 0;
  while (i < s.size()) {
    if (chars == n) return s.substr(0, i) + "\u2026";
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    ++chars;
  }
  return s;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
struct Ticks {
  double lo, hi, step;
  std::vector<double> values;
  int decimals;
};

// The "nice" number (1, 2 or 5 times a power of ten) closest to x > 0.
double nice_number(double x) {
  const double e = std::floor(std::log10(x));
  const double f = x / std::pow(10.0, e);
  const double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nf * std::pow(10.0, e);
}

Ticks nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double step = nice_number((hi - lo) / std::max(1, target - 1));
  Ticks t;
  t.step = step;
  t.lo = std::floor(lo / step) * step;
  t.hi = std::ceil(hi / step) * step;
  for (double v = t.lo; v <= t.hi + step * 0.5; v += step) t.values.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return t;
}

std::string tick_label(double v, int decimals) {
  char buf[48];
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e7 || a < 1e-4)) std::snprintf(buf, sizeof buf, "%.2g", v);
  else std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 6), v);
  return buf;
}

void write_text(const std::string& path, const std::string& svg) {
  io::write_file_atomic(path, std::span<const std::uint8_t>(
                                  reinterpret_cast<const std::uint8_t*>(svg.data()), svg.size()));
}

}  // namespace

void write_line_chart(const std::string& path, const LineChart& chart) {
  const double W = 900, H = 480;
  const double left = 78, right = 24, top = chart.title.empty() ? 24 : 48,
               bottom = chart.x_label.empty() ? 48 : 68;
  const double pw = W - left - right, ph = H - top - bottom;

  // Data ranges over finite points.
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : chart.series) {
    if (!s.x.empty() && s.x.size() != s.y.size())
      fail<InvalidArgument>("chart '", chart.title, "', series '", s.label, "': ", s.x.size(),
                            " x values for ", s.y.size(), " y values");
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = s.x.empty() ? static_cast<double>(i) : s.x[i];
      if (!std::isfinite(x) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;  // nothing to draw
  if (!chart.x_tick_labels.empty()) {
    xmin = std::min(xmin, 0.0);
    xmax = std::max(xmax, static_cast<double>(chart.x_tick_labels.size() - 1));
  }
  if (xmax <= xmin) xmax = xmin + 1;
  const Ticks yt = nice_ticks(ymin, ymax, 6);
  const double y0 = yt.lo, y1 = yt.hi;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
  auto py = [&](double y) { return top + (1.0 - (y - y0) / (y1 - y0)) * ph; };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << ' ' << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!chart.title.empty())
    o << "<text x=\"" << W / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">"
      << xml_escape(chart.title) << "</text>\n";

  // Shaded span (e.g. the test period).
  if (chart.shade_from_x >= 0 && chart.shade_from_x <= xmax) {
    const double sx = px(std::max(chart.shade_from_x, xmin));
    o << "<rect x=\"" << num(sx) << "\" y=\"" << top << "\" width=\"" << num(left + pw - sx)
      << "\" height=\"" << ph << "\" fill=\"#eeeeee\"/>\n";
    if (!chart.shade_label.empty())
      o << "<text x=\"" << num(sx + 4) << "\" y=\"" << top + 14 << "\" fill=\"#666\">"
        << xml_escape(chart.shade_label) << "</text>\n";
  }

  // Grid and y ticks.
  o << "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  for (double v : yt.values)
    o << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << num(py(v)) << "\" y2=\""
      << num(py(v)) << "\"/>\n";
  o << "</g>\n<g text-anchor=\"end\" fill=\"#333\">\n";
  for (double v : yt.values)
    o << "<text x=\"" << left - 6 << "\" y=\"" << num(py(v) + 4) << "\">"
      << tick_label(v, yt.decimals) << "</text>\n";
  o << "</g>\n";

  // X ticks: labels (dates) at a readable spacing, or nice numbers.
  o << "<g text-anchor=\"middle\" fill=\"#333\">\n";
  if (!chart.x_tick_labels.empty()) {
    const std::size_t n = chart.x_tick_labels.size();
    std::size_t maxlen = 1;
    for (const auto& l : chart.x_tick_labels) maxlen = std::max(maxlen, l.size());
    const std::size_t fit = std::max<std::size_t>(2, static_cast<std::size_t>(pw / (7.0 * static_cast<double>(maxlen) + 16)));
    const std::size_t every = std::max<std::size_t>(1, (n + fit - 1) / fit);
    for (std::size_t i = 0; i < n; i += every) {
      const double x = px(static_cast<double>(i));
      o << "<line x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\"" << top + ph
        << "\" y2=\"" << top + ph + 5 << "\" stroke=\"#333\"/>"
        << "<text x=\"" << num(x) << "\" y=\"" << top + ph + 19 << "\">"
        << xml_escape(shorten(chart.x_tick_labels[i], 16)) << "</text>\n";
    }
  } else {
    const Ticks xt = nice_ticks(xmin, xmax, 8);
    for (double v : xt.values) {
      if (v < xmin - 1e-9 * (xmax - xmin) || v > xmax + 1e-9 * (xmax - xmin)) continue;
      const double x = px(v);
      o << "<line x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\"" << top + ph
        << "\" y2=\"" << top + ph + 5 << "\" stroke=\"#333\"/>"
        << "<text x=\"" << num(x) << "\" y=\"" << top + ph + 19 << "\">"
        << tick_label(v, xt.decimals) << "</text>\n";
    }
  }
  o << "</g>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  if (!chart.x_label.empty())
    o << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 14 << "\" text-anchor=\"middle\">"
      << xml_escape(chart.x_label) << "</text>\n";
  if (!chart.y_label.empty())
    o << "<text transform=\"translate(18," << top + ph / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(chart.y_label) << "</text>\n";

  // The series: one path each; a non-finite value starts a new sub-path; lone points get a dot.
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const Series& s = chart.series[k];
    const std::string color = s.color.empty() ? kPalette[k % 10] : s.color;
    std::ostringstream d, dots;
    bool pen = false;
    double last_x = 0, last_y = 0;
    std::size_t run = 0;
    auto end_run = [&] {
      if (run == 1)
        dots << "<circle cx=\"" << num(last_x) << "\" cy=\"" << num(last_y) << "\" r=\"2.5\" fill=\""
             << color << "\"/>\n";
      run = 0;
    };
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = s.x.empty() ? static_cast<double>(i) : s.x[i];
      if (!std::isfinite(x) || !std::isfinite(s.y[i])) {
        pen = false;
        end_run();
        continue;
      }
      last_x = px(x);
      last_y = py(s.y[i]);
      d << (pen ? 'L' : 'M') << num(last_x) << ' ' << num(last_y) << ' ';
      pen = true;
      ++run;
    }
    end_run();
    o << "<path d=\"" << d.str() << "\" fill=\"none\" stroke=\"" << color
      << "\" stroke-width=\"1.8\" stroke-linejoin=\"round\""
      << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/>\n"
      << dots.str();
  }

  // Legend (top left inside the plot).
  if (!chart.series.empty()) {
    std::size_t maxlen = 1;
    for (const Series& s : chart.series) maxlen = std::max(maxlen, s.label.size());
    const double lw = 40 + 7.0 * static_cast<double>(std::min<std::size_t>(maxlen, 40));
    const double lh = 8 + 18.0 * static_cast<double>(chart.series.size());
    const double lx = left + 10, ly = top + (chart.shade_label.empty() ? 10 : 24);
    o << "<rect x=\"" << lx << "\" y=\"" << ly << "\" width=\"" << num(lw) << "\" height=\""
      << lh << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n";
    for (std::size_t k = 0; k < chart.series.size(); ++k) {
      const Series& s = chart.series[k];
      const std::string color = s.color.empty() ? kPalette[k % 10] : s.color;
      const double yy = ly + 16 + 18.0 * static_cast<double>(k);
      o << "<line x1=\"" << lx + 8 << "\" x2=\"" << lx + 30 << "\" y1=\"" << yy - 4 << "\" y2=\""
        << yy - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\""
        << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/>"
        << "<text x=\"" << lx + 36 << "\" y=\"" << yy << "\">" << xml_escape(shorten(s.label, 40))
        << "</text>\n";
    }
  }
  o << "</svg>\n";
  write_text(path, o.str());
}

void write_confusion_matrix(const std::string& path, const std::string& title,
                            const std::vector<std::string>& classes,
                            const std::vector<std::vector<int64_t>>& counts) {
  const std::size_t n = classes.size();
  if (n == 0) fail<InvalidArgument>("confusion matrix '", title, "': no classes");
  if (counts.size() != n)
    fail<InvalidArgument>("confusion matrix '", title, "': ", counts.size(), " rows for ", n,
                          " classes");
  for (std::size_t r = 0; r < n; ++r)
    if (counts[r].size() != n)
      fail<InvalidArgument>("confusion matrix '", title, "': row ", r, " has ", counts[r].size(),
                            " columns, expected ", n);

  const double cell = std::clamp(520.0 / static_cast<double>(n), 12.0, 64.0);
  const double font = std::clamp(cell * 0.32, 6.0, 13.0);
  std::size_t maxlen = 1;
  for (const auto& c : classes) maxlen = std::max(maxlen, std::min<std::size_t>(c.size(), 20));
  const double label_w = 16 + 7.0 * static_cast<double>(maxlen);
  const double left = 40 + label_w, top = title.empty() ? 20 : 50;
  const double grid = cell * static_cast<double>(n);
  const double W = left + grid + 30, H = top + grid + label_w + 40;

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(W) << "\" height=\"" << num(H)
    << "\" viewBox=\"0 0 " << num(W) << ' ' << num(H)
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty())
    o << "<text x=\"" << num(W / 2) << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">"
      << xml_escape(title) << "</text>\n";
  for (std::size_t r = 0; r < n; ++r) {
    int64_t total = 0;
    for (int64_t v : counts[r]) total += v;
    for (std::size_t c = 0; c < n; ++c) {
      const double share =
          total > 0 ? static_cast<double>(counts[r][c]) / static_cast<double>(total) : 0.0;
      // White -> dark blue (#08519c) by the row-normalised share.
      const int red = static_cast<int>(std::lround(255 + (8 - 255) * share));
      const int green = static_cast<int>(std::lround(255 + (81 - 255) * share));
      const int blue = static_cast<int>(std::lround(255 + (156 - 255) * share));
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", red, green, blue);
      const double x = left + cell * static_cast<double>(c), y = top + cell * static_cast<double>(r);
      o << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(cell)
        << "\" height=\"" << num(cell) << "\" fill=\"" << fill << "\" stroke=\"#cccccc\"><title>"
        << xml_escape(classes[r]) << " \u2192 " << xml_escape(classes[c]) << ": " << counts[r][c]
        << "</title></rect>";
      if (cell >= 18)
        o << "<text x=\"" << num(x + cell / 2) << "\" y=\"" << num(y + cell / 2 + font / 3)
          << "\" text-anchor=\"middle\" font-size=\"" << num(font) << "\" fill=\""
          << (share > 0.5 ? "white" : "#222") << "\">" << counts[r][c] << "</text>";
      o << "\n";
    }
    // Row label (true class).
    o << "<text x=\"" << num(left - 6) << "\" y=\"" << num(top + cell * (static_cast<double>(r) + 0.5) + 4)
      << "\" text-anchor=\"end\">" << xml_escape(shorten(classes[r], 20)) << "</text>\n";
  }
  // Column labels (predicted class), rotated.
  for (std::size_t c = 0; c < n; ++c) {
    const double x = left + cell * (static_cast<double>(c) + 0.5);
    o << "<text transform=\"translate(" << num(x + 4) << "," << num(top + grid + 8)
      << ") rotate(-60)\" text-anchor=\"end\">" << xml_escape(shorten(classes[c], 20))
      << "</text>\n";
  }
  o << "<text x=\"" << num(left + grid / 2) << "\" y=\"" << num(H - 10)
    << "\" text-anchor=\"middle\">predicted</text>\n";
  o << "<text transform=\"translate(16," << num(top + grid / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">true</text>\n";
  o << "</svg>\n";
  write_text(path, o.str());
}

}  // namespace recur::report
