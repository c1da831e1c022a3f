// Training callbacks (recur/train/callbacks.hpp), with Keras's semantics.
//
// Monitoring (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau): mode "auto" means "max" when
// the monitored name contains "acc", else "min" (Keras 2's rule). A monitored key missing from
// the logs prints one warning per fit (when verbose) and the callback does nothing that epoch.
//
//   EarlyStopping      (Keras 3) d = |min_delta|; improvement: v - d·s beats best, s = +1 for
//                      max, -1 for min. Each monitored epoch: wait += 1; on improvement best = v,
//                      and wait = 0 only when v also beats the baseline (when one is set); else
//                      stop when wait >= patience and epoch > 0. Epochs < start_from_epoch are
//                      ignored. restore_best_weights: the weights of the best epoch (or of the
//                      first monitored one) are put back at train end, whether or not training
//                      stopped early (Keras 3; Keras 2 restored only on an early stop).
//   ModelCheckpoint    filepath is a Python format string: {epoch} (1-based), any log key,
//                      with format specs such as {epoch:02d} or {val_loss:.4f}. save_best_only:
//                      saves when v beats the best so far (no min_delta); the best is kept
//                      across fit() calls, as Keras. Never saves when the epoch's "loss" is NaN
//                      or Inf, so a diverged run keeps the last good file.
//   CSVLogger          "epoch" (0-based) then the first epoch's log keys, sorted; later missing
//                      keys are written "NA". Values as Python's repr (shortest round trip).
//   TerminateOnNaN     after a batch whose running "loss" is NaN or Inf.
//   ReduceLROnPlateau  improvement: v < best - min_delta (min) / v > best + min_delta (max);
//                      in cooldown the counter drops and wait = 0; otherwise wait += 1 and at
//                      wait >= patience lr = max(lr · factor, min_lr) when lr > min_lr (as
//                      float32), then cooldown starts.
//   LearningRateScheduler  lr = schedule(epoch, lr) at each epoch start.
#include "recur/train/callbacks.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <string>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "recur/error.hpp"
#include "recur/io/model_file.hpp"

namespace recur {

namespace {

namespace fs = std::filesystem;

bool maximizes(MonitorMode mode, const std::string& monitor) {
  if (mode == MonitorMode::automatic) return monitor.find("acc") != std::string::npos;
  return mode == MonitorMode::max;
}

bool talks(const FitState& state) { return state.out != nullptr && state.verbose > 0; }

// "loss,mae,val_loss": the keys of `logs`, as Keras lists them in its warnings.
std::string key_list(const Logs& logs) {
  std::string s;
  for (const auto& [k, v] : logs) s += (s.empty() ? "" : ",") + k;
  return s;
}

// logs[monitor], or nullptr with a warning (once per fit, when verbose) naming what exists.
const double* monitored(FitState& state, const Logs& logs, const std::string& monitor,
                        const char* what, bool& warned) {
  auto it = logs.find(monitor);
  if (it != logs.end()) return &it->second;
  if (!warned && talks(state))
    *state.out << "WARNING: " << what << " conditioned on metric `" << monitor
               << "` which is not available. Available metrics are: " << key_list(logs) << "\n"
               << std::flush;
  warned = true;
  return nullptr;
}

// Python's repr() of a float: the shortest digits that round-trip, in fixed notation when the
// decimal exponent is in [-4, 16), else d.ddde±XX; "nan", "inf", "-inf".
template <typename F>
std::string python_repr(F v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-1.2345e-05"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const std::size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e + 1));
  if (exp >= -4 && exp < 16) {
    std::string s;
    if (exp < 0) {
      s = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    } else {
      const auto int_len = static_cast<std::size_t>(exp + 1);
      if (digits.size() < int_len) digits.append(int_len - digits.size(), '0');
      s = digits.substr(0, int_len) + "." +
          (digits.size() > int_len ? digits.substr(int_len) : std::string("0"));
    }
    return sign + s;
  }
  std::string m = digits.substr(0, 1);
  if (digits.size() > 1) m += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return sign + m + ebuf;
}

// snprintf into a string of the right size ("%.*f" of 1e300 is long).
std::string printf_str(const char* fmt, int precision, double v) {
  const int n = std::snprintf(nullptr, 0, fmt, precision, v);
  std::string s(static_cast<std::size_t>(std::max(n, 0)) + 1, '\0');
  std::snprintf(s.data(), s.size(), fmt, precision, v);
  s.resize(static_cast<std::size_t>(std::max(n, 0)));
  return s;
}

std::string fixed(double v, int precision) { return printf_str("%.*f", precision, v); }

// ---- Python str.format for ModelCheckpoint file paths ----

// [[fill]align][sign][#][0][width][.precision][type]
struct FormatSpec {
  char fill = ' ';
  char align = 0;  // < > = ^ (0: right for numbers)
  char sign = '-';
  bool alternate = false;
  int width = 0;
  int precision = -1;
  char type = 0;
};

[[noreturn]] void bad_path(const std::string& pattern, const std::string& why) {
  fail<ConfigError>("ModelCheckpoint: cannot format filepath \"", pattern, "\": ", why);
}

FormatSpec parse_spec(std::string_view s, const std::string& pattern, const std::string& field) {
  FormatSpec f;
  std::size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '=' || c == '^'; };
  if (s.size() >= 2 && is_align(s[1])) {
    f.fill = s[0];
    f.align = s[1];
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    f.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) f.sign = s[i++];
  if (i < s.size() && s[i] == '#') {
    f.alternate = true;
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    if (f.align == 0) {
      f.fill = '0';
      f.align = '=';
    }
    ++i;
  }
  auto number = [&](int& out) {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
    if (i - start > 4) bad_path(pattern, "width or precision too large in {" + field + "}");
    out = std::stoi(std::string(s.substr(start, i - start)));
    return true;
  };
  number(f.width);
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!number(f.precision)) bad_path(pattern, "missing precision in {" + field + "}");
  }
  if (i < s.size() && std::strchr("dfFeEgG%s", s[i]) != nullptr) f.type = s[i++];
  if (i != s.size())
    bad_path(pattern, "unsupported format spec \"" + std::string(s) + "\" in {" + field +
                          "} (supported: [[fill]align][sign][#][0][width][.precision][dfFeEgG%])");
  return f;
}

// One replacement field: `is_int` for {epoch}, else a float log value.
std::string format_field(double v, bool is_int, const FormatSpec& f, const std::string& pattern,
                         const std::string& field) {
  std::string body;
  bool negative = false;
  if (f.type == 's')
    bad_path(pattern, "format code 's' needs a string; {" + field + "} is a number");
  if (f.type == 'd' || (f.type == 0 && is_int)) {
    if (!is_int)
      bad_path(pattern, "format code 'd' needs an integer; {" + field + "} is a float");
    if (f.precision >= 0)
      bad_path(pattern, "precision not allowed with an integer in {" + field + "}");
    const auto n = static_cast<long long>(v);
    negative = n < 0;
    body = std::to_string(negative ? -n : n);
  } else if (std::isnan(v) || std::isinf(v)) {
    negative = std::isinf(v) && v < 0;
    body = std::isnan(v) ? "nan" : "inf";
    if (f.type == 'F' || f.type == 'E' || f.type == 'G')
      for (char& ch : body) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (f.type == '%') body += "%";
  } else {
    negative = std::signbit(v);
    const double a = std::fabs(v);
    if (f.type == 0) {
      if (f.precision < 0) {
        body = python_repr(a);
      } else {  // like 'g', with at least one digit after a decimal point
        body = printf_str(f.alternate ? "%#.*g" : "%.*g", std::max(f.precision, 1), a);
        if (body.find_first_of(".e") == std::string::npos) body += ".0";
      }
    } else {
      const std::string fmt = std::string(f.alternate ? "%#.*" : "%.*") +
                              (f.type == '%' ? 'f' : f.type);
      body = printf_str(fmt.c_str(), f.precision < 0 ? 6 : f.precision,
                        f.type == '%' ? a * 100.0 : a);
      if (f.type == '%') body += "%";
    }
  }
  std::string sign = negative ? "-" : (f.sign == '+' ? "+" : (f.sign == ' ' ? " " : ""));
  const std::size_t len = sign.size() + body.size();
  const std::size_t width = static_cast<std::size_t>(f.width);
  if (len >= width) return sign + body;
  const std::size_t pad = width - len;
  switch (f.align) {
    case '<': return sign + body + std::string(pad, f.fill);
    case '^': return std::string(pad / 2, f.fill) + sign + body + std::string(pad - pad / 2, f.fill);
    case '=': return sign + std::string(pad, f.fill) + body;
    default: return std::string(pad, f.fill) + sign + body;
  }
}

// pattern.format(epoch=epoch + 1, **logs), as Keras's ModelCheckpoint.
std::string format_filepath(const std::string& pattern, int epoch, const Logs& logs) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '}') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      bad_path(pattern, "single '}' (write '}}' for a literal brace)");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const std::size_t close = pattern.find('}', i + 1);
    if (close == std::string::npos) bad_path(pattern, "unmatched '{'");
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const std::size_t colon = field.find(':');
    const std::string name = field.substr(0, colon);
    const std::string_view spec =
        colon == std::string::npos ? std::string_view() : std::string_view(field).substr(colon + 1);
    if (name.empty()) bad_path(pattern, "empty field {" + field + "} (name a log key or epoch)");
    const FormatSpec f = parse_spec(spec, pattern, field);
    if (name == "epoch") {
      out += format_field(epoch + 1, true, f, pattern, field);
    } else {
      auto it = logs.find(name);
      if (it == logs.end())
        fail<ConfigError>("ModelCheckpoint: filepath \"", pattern, "\" uses {", name,
                          "}, which is not in the logs; available: epoch,", key_list(logs));
      out += format_field(it->second, false, f, pattern, field);
    }
    i = close;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

class EarlyStopping final : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions o) : opt_(std::move(o)) {
    if (opt_.monitor.empty()) fail<ConfigError>("EarlyStopping: monitor is empty");
    if (opt_.patience < 0)
      fail<ConfigError>("EarlyStopping: patience must be >= 0, got ", opt_.patience);
    if (std::isnan(opt_.min_delta)) fail<ConfigError>("EarlyStopping: min_delta is NaN");
    max_ = maximizes(opt_.mode, opt_.monitor);
    delta_ = max_ ? std::fabs(opt_.min_delta) : -std::fabs(opt_.min_delta);
  }

  void on_train_begin(FitState&) override {
    wait_ = 0;
    stopped_epoch_ = 0;
    best_epoch_ = 0;
    best_ = max_ ? -kInf : kInf;
    best_weights_.clear();
    have_best_weights_ = false;
    warned_ = false;
  }

  void on_epoch_end(FitState& state, int epoch, Logs& logs) override {
    const double* v = monitored(state, logs, opt_.monitor, "Early stopping", warned_);
    if (v == nullptr || epoch < opt_.start_from_epoch) return;
    const double current = *v;
    if (opt_.restore_best_weights && !have_best_weights_) {
      keep_weights(state);  // never improved yet: the current weights are the best
      best_epoch_ = epoch;
    }
    ++wait_;
    if (improves(current, best_)) {
      best_ = current;
      best_epoch_ = epoch;
      if (opt_.restore_best_weights) keep_weights(state);
      if (!opt_.baseline || improves(current, *opt_.baseline)) wait_ = 0;
      return;
    }
    if (wait_ >= opt_.patience && epoch > 0) {
      stopped_epoch_ = epoch;
      state.stop_training = true;
    }
  }

  void on_train_end(FitState& state) override {
    if (stopped_epoch_ > 0 && talks(state))
      *state.out << "Epoch " << stopped_epoch_ + 1 << ": early stopping\n";
    if (opt_.restore_best_weights && have_best_weights_) {
      if (talks(state))
        *state.out << "Restoring model weights from the end of the best epoch: "
                   << best_epoch_ + 1 << ".\n";
      std::span<float> w = state.model->weights();
      RECUR_DCHECK(w.size() == best_weights_.size());
      std::copy(best_weights_.begin(), best_weights_.end(), w.begin());
    }
    if (state.out != nullptr) state.out->flush();
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  // Keras: monitor_op(value - min_delta, reference), min_delta negated when minimizing.
  bool improves(double value, double reference) const {
    return max_ ? value - delta_ > reference : value - delta_ < reference;
  }

  void keep_weights(FitState& state) {
    RECUR_DCHECK(state.model != nullptr);
    std::span<const float> w = state.model->weights();
    best_weights_.assign(w.begin(), w.end());
    have_best_weights_ = true;
  }

  EarlyStoppingOptions opt_;
  bool max_ = false;
  double delta_ = 0.0;
  int wait_ = 0;
  int stopped_epoch_ = 0;
  int best_epoch_ = 0;
  double best_ = kInf;
  std::vector<float> best_weights_;
  bool have_best_weights_ = false;
  bool warned_ = false;
};

class ModelCheckpoint final : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions o) : opt_(std::move(o)) {
    if (opt_.filepath.empty()) fail<ConfigError>("ModelCheckpoint: filepath is empty");
    if (opt_.save_best_only && opt_.monitor.empty())
      fail<ConfigError>("ModelCheckpoint: save_best_only needs a monitor, got an empty one");
    max_ = maximizes(opt_.mode, opt_.monitor);
    best_ = max_ ? -std::numeric_limits<double>::infinity()
                 : std::numeric_limits<double>::infinity();
  }

  void on_train_begin(FitState&) override { warned_ = false; }

  void on_epoch_end(FitState& state, int epoch, Logs& logs) override {
    const std::string path = format_filepath(opt_.filepath, epoch, logs);
    auto loss = logs.find("loss");
    if (loss != logs.end() && !std::isfinite(loss->second)) return;  // keep the last good file
    if (opt_.save_best_only) {
      auto it = logs.find(opt_.monitor);
      if (it == logs.end()) {
        if (!warned_ && talks(state))
          *state.out << "WARNING: Can save best model only with " << opt_.monitor
                     << " available, skipping.\n"
                     << std::flush;
        warned_ = true;
        return;
      }
      const double current = it->second;
      const bool better = max_ ? current > best_ : current < best_;
      if (!better) {
        if (talks(state))
          *state.out << "\nEpoch " << epoch + 1 << ": " << opt_.monitor << " did not improve from "
                     << fixed(best_, 5) << "\n"
                     << std::flush;
        return;
      }
      if (talks(state))
        *state.out << "\nEpoch " << epoch + 1 << ": " << opt_.monitor << " improved from "
                   << fixed(best_, 5) << " to " << fixed(current, 5) << ", saving model to "
                   << path << "\n"
                   << std::flush;
      best_ = current;
    } else if (talks(state)) {
      *state.out << "\nEpoch " << epoch + 1 << ": saving model to " << path << "\n" << std::flush;
    }
    const fs::path dir = fs::path(path).parent_path();
    if (!dir.empty()) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec)
        fail<IoError>("ModelCheckpoint: cannot create directory '", dir.string(), "' for '", path,
                      "': ", ec.message());
    }
    RECUR_DCHECK(state.model != nullptr);
    save_model(path, *state.model);
  }

 private:
  ModelCheckpointOptions opt_;
  bool max_ = false;
  double best_ = 0.0;
  bool warned_ = false;
};

class CsvLogger final : public Callback {
 public:
  CsvLogger(std::string filename, char separator, bool append)
      : filename_(std::move(filename)), sep_(separator), append_(append) {
    if (filename_.empty()) fail<ConfigError>("CSVLogger: filename is empty");
    if (sep_ == '"' || sep_ == '\n' || sep_ == '\r' || sep_ == '\0')
      fail<ConfigError>("CSVLogger '", filename_, "': separator may not be a quote, a line break "
                        "or NUL");
  }

  void on_train_begin(FitState&) override { open(); }

  void on_epoch_end(FitState&, int epoch, Logs& logs) override {
    if (!file_.is_open()) open();
    if (!have_keys_) {
      keys_.clear();
      for (const auto& [k, v] : logs) keys_.push_back(k);  // std::map: sorted
      have_keys_ = true;
    }
    if (write_header_) {
      file_ << "epoch";
      for (const std::string& k : keys_) file_ << sep_ << quoted(k);
      file_ << "\n";
      write_header_ = false;
    }
    file_ << epoch;
    for (const std::string& k : keys_) {
      auto it = logs.find(k);
      file_ << sep_ << (it == logs.end() ? std::string("NA") : python_repr(it->second));
    }
    file_ << "\n";
    file_.flush();
    if (!file_) fail<IoError>("CSVLogger: writing '", filename_, "' failed");
  }

  void on_train_end(FitState&) override {
    if (file_.is_open()) file_.close();
  }

 private:
  void open() {
    if (file_.is_open()) file_.close();
    write_header_ = true;
    have_keys_ = false;
    if (append_) {
      std::ifstream in(filename_);
      std::string first;
      if (in && std::getline(in, first) && !first.empty()) write_header_ = false;
    }
    file_.clear();
    file_.open(filename_, append_ ? std::ios::out | std::ios::app : std::ios::out | std::ios::trunc);
    if (!file_)
      fail<IoError>("CSVLogger: cannot open '", filename_, "' for writing: ", std::strerror(errno));
  }

  // Python csv QUOTE_MINIMAL: quote a field holding the separator, a quote or a line break.
  std::string quoted(const std::string& s) const {
    if (s.find_first_of(std::string{sep_, '"', '\n', '\r'}) == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }

  std::string filename_;
  char sep_;
  bool append_;
  std::ofstream file_;
  std::vector<std::string> keys_;
  bool have_keys_ = false;
  bool write_header_ = true;
};

class TerminateOnNaN final : public Callback {
 public:
  void on_batch_end(FitState& state, int64_t step, const Logs& logs) override {
    auto it = logs.find("loss");
    if (it == logs.end() || std::isfinite(it->second)) return;
    if (talks(state))
      *state.out << "Batch " << step << ": Invalid loss, terminating training\n" << std::flush;
    state.stop_training = true;
    state.stopped_on_nan = true;
  }
};

class ReduceLROnPlateau final : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions o) : opt_(std::move(o)) {
    if (opt_.monitor.empty()) fail<ConfigError>("ReduceLROnPlateau: monitor is empty");
    if (!(opt_.factor < 1.0))
      fail<ConfigError>("ReduceLROnPlateau: factor must be < 1.0, got ", opt_.factor);
    if (!(opt_.factor >= 0.0))
      fail<ConfigError>("ReduceLROnPlateau: factor must be >= 0, got ", opt_.factor);
    if (opt_.patience < 0)
      fail<ConfigError>("ReduceLROnPlateau: patience must be >= 0, got ", opt_.patience);
    if (opt_.cooldown < 0)
      fail<ConfigError>("ReduceLROnPlateau: cooldown must be >= 0, got ", opt_.cooldown);
    if (!(opt_.min_lr >= 0.0) || !std::isfinite(opt_.min_lr))
      fail<ConfigError>("ReduceLROnPlateau: min_lr must be a finite number >= 0, got ",
                        opt_.min_lr);
    if (std::isnan(opt_.min_delta)) fail<ConfigError>("ReduceLROnPlateau: min_delta is NaN");
    max_ = maximizes(opt_.mode, opt_.monitor);
    reset();
  }

  void on_train_begin(FitState&) override {
    reset();
    warned_ = false;
  }

  void on_epoch_end(FitState& state, int epoch, Logs& logs) override {
    RECUR_DCHECK(state.optimizer != nullptr);
    Optimizer& opt = *state.optimizer;
    logs.try_emplace("lr", opt.current_learning_rate());
    const double* v = monitored(state, logs, opt_.monitor, "Learning rate reduction is", warned_);
    if (v == nullptr) return;
    const double current = *v;
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      wait_ = 0;
    }
    if (max_ ? current > best_ + opt_.min_delta : current < best_ - opt_.min_delta) {
      best_ = current;
      wait_ = 0;
      return;
    }
    if (cooldown_counter_ > 0) return;
    if (++wait_ < opt_.patience) return;
    const double old_lr = opt.learning_rate();
    // Compared as float32, as Keras (the rate is a float32 variable there).
    if (static_cast<float>(old_lr) > static_cast<float>(opt_.min_lr)) {
      const double new_lr = std::max(old_lr * opt_.factor, opt_.min_lr);
      opt.set_learning_rate(new_lr);
      if (talks(state))
        *state.out << "\nEpoch " << epoch + 1 << ": ReduceLROnPlateau reducing learning rate to "
                   << python_repr(static_cast<float>(new_lr)) << ".\n"
                   << std::flush;
      cooldown_counter_ = opt_.cooldown;
      wait_ = 0;
    }
  }

 private:
  void reset() {
    best_ = max_ ? -std::numeric_limits<double>::infinity()
                 : std::numeric_limits<double>::infinity();
    cooldown_counter_ = 0;
    wait_ = 0;
  }

  ReduceLROnPlateauOptions opt_;
  bool max_ = false;
  double best_ = 0.0;
  int cooldown_counter_ = 0;
  int wait_ = 0;
  bool warned_ = false;
};

class LearningRateScheduler final : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int, double)> schedule)
      : schedule_(std::move(schedule)) {
    if (!schedule_) fail<InvalidArgument>("LearningRateScheduler: the schedule is empty");
  }

  void on_epoch_begin(FitState& state, int epoch) override {
    RECUR_DCHECK(state.optimizer != nullptr);
    const double lr_in = state.optimizer->learning_rate();
    const double lr = schedule_(epoch, lr_in);
    if (!std::isfinite(lr) || lr < 0.0)
      fail<InvalidArgument>("LearningRateScheduler: schedule(epoch ", epoch, ", lr ", lr_in,
                            ") returned ", lr, "; expected a finite learning rate >= 0");
    state.optimizer->set_learning_rate(lr);
  }

  void on_epoch_end(FitState& state, int, Logs& logs) override {
    RECUR_DCHECK(state.optimizer != nullptr);
    logs.try_emplace("lr", state.optimizer->current_learning_rate());
  }

 private:
  std::function<double(int, double)> schedule_;
};

}  // namespace

std::shared_ptr<Callback> early_stopping(EarlyStoppingOptions options) {
  return std::make_shared<EarlyStopping>(std::move(options));
}

std::shared_ptr<Callback> model_checkpoint(ModelCheckpointOptions options) {
  return std::make_shared<ModelCheckpoint>(std::move(options));
}

std::shared_ptr<Callback> csv_logger(std::string filename, char separator, bool append) {
  return std::make_shared<CsvLogger>(std::move(filename), separator, append);
}

std::shared_ptr<Callback> terminate_on_nan() { return std::make_shared<TerminateOnNaN>(); }

std::shared_ptr<Callback> reduce_lr_on_plateau(ReduceLROnPlateauOptions options) {
  return std::make_shared<ReduceLROnPlateau>(std::move(options));
}

std::shared_ptr<Callback> learning_rate_scheduler(std::function<double(int, double)> schedule) {
  return std::make_shared<LearningRateScheduler>(std::move(schedule));
}

}  // namespace recur
