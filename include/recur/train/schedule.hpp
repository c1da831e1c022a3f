// Learning-rate schedules, evaluated per optimizer iteration (Keras LearningRateSchedule):
//   exponential  lr0 · decay_rate^(step / decay_steps)   (staircase: floor of the exponent)
//   cosine       lr0 · ((1 - alpha) · ½(1 + cos(π · min(step, decay_steps) / decay_steps)) + alpha)
//   step         lr0 · gamma^floor(step / step_size)      (PyTorch StepLR, counted in steps)
// `step` is the number of updates already applied (0 for the first update).
// ReduceLROnPlateau is a callback (train/callbacks.hpp), not a schedule.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace recur {

struct ScheduleOptions {
  std::string kind = "exponential";  // exponential | cosine | step
  int64_t decay_steps = 1000;        // exponential, cosine
  double decay_rate = 0.96;          // exponential
  bool staircase = false;            // exponential
  double alpha = 0.0;                // cosine: floor as a fraction of lr0
  int64_t step_size = 1000;          // step
  double gamma = 0.1;                // step
};

// Checks the options (ConfigError naming the bad one).
void validate_schedule(const ScheduleOptions& s);
double scheduled_learning_rate(const ScheduleOptions& s, double lr0, int64_t step);
ScheduleOptions schedule_from_json(const nlohmann::json& j);
nlohmann::json schedule_to_json(const ScheduleOptions& s);

}  // namespace recur
