// Pictures as standalone SVG files (no dependencies): line charts and a confusion matrix.
// Written atomically; readable in any browser.
#pragma once

#include <string>
#include <vector>

namespace recur::report {

struct Series {
  std::string label;
  std::vector<double> x;   // empty: 0, 1, 2, ...
  std::vector<double> y;   // non-finite values break the line
  std::string color;       // empty: a palette colour
  bool dashed = false;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<std::string> x_tick_labels;  // optional labels (e.g. dates) for x = 0, 1, ...
  double shade_from_x = -1;                // optional: shade x >= this (e.g. the test span)
  std::string shade_label;
};

// Writes the chart (legend, axes with "nice" ticks) to `path` (.svg).
void write_line_chart(const std::string& path, const LineChart& chart);

// counts[true][predicted]; class names on both axes; cells coloured by row-normalised share,
// annotated with counts.
void write_confusion_matrix(const std::string& path, const std::string& title,
                            const std::vector<std::string>& classes,
                            const std::vector<std::vector<int64_t>>& counts);

}  // namespace recur::report
