#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

namespace weftkit::server {
namespace {

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

Status ValidateNames(const std::string& name, const std::vector<std::string>& label_names) {
  bool labels_ok = std::all_of(label_names.begin(), label_names.end(), [](const auto& label) {
    return IsValidName(label, false) && label != "le" && label.rfind("__", 0) != 0;
  });
  if (!IsValidName(name, true) || !labels_ok) {
    return Error(ErrorKind::kInvalidArgument, "metric_name_invalid",
                 "invalid metric or label name in family " + name);
  }
  return OkStatus();
}

std::string FormatNumber(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : "NaN";
}

// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// HELP text escapes backslash and line feed only.
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` or "" when there are no labels; `extra` is appended as a last, literal pair.
std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     const std::string& extra = "") {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? out : "{" + out + "}";
}

template <typename F>
std::string Header(const F& family, const char* type) {
  return "# HELP " + family.name() + " " + EscapeHelp(family.help()) + "\n# TYPE " + family.name() +
         " " + type + "\n";
}

std::string RenderFamily(const CounterFamily& family) {
  std::string out = Header(family, "counter");
  family.ForEach([&](const LabelValues& values, const Counter& series) {
    out += family.name() + LabelSet(family.label_names(), values) + " " +
           std::to_string(series.value()) + "\n";
  });
  return out;
}

std::string RenderFamily(const GaugeFamily& family) {
  std::string out = Header(family, "gauge");
  family.ForEach([&](const LabelValues& values, const Gauge& series) {
    out += family.name() + LabelSet(family.label_names(), values) + " " +
           FormatNumber(series.value()) + "\n";
  });
  return out;
}

std::string RenderFamily(const HistogramFamily& family) {
  std::string out = Header(family, "histogram");
  const std::string& name = family.name();
  const auto& labels = family.label_names();
  family.ForEach([&](const LabelValues& values, const Histogram& series) {
    // Read the count first: buckets observed after it may exceed it slightly, never fall short.
    std::uint64_t count = series.count();
    for (std::size_t i = 0; i < series.upper_bounds().size(); ++i) {
      std::string le = "le=\"" + FormatNumber(series.upper_bounds()[i]) + "\"";
      out += name + "_bucket" + LabelSet(labels, values, le) + " " +
             std::to_string(std::min(series.cumulative_count(i), count)) + "\n";
    }
    out += name + "_bucket" + LabelSet(labels, values, "le=\"+Inf\"") + " " +
           std::to_string(count) + "\n";
    out += name + "_sum" + LabelSet(labels, values) + " " + FormatNumber(series.sum()) + "\n";
    out += name + "_count" + LabelSet(labels, values) + " " + std::to_string(count) + "\n";
  });
  return out;
}

template <typename Series>
std::unique_ptr<Series> MakeSeries(const std::vector<double>& buckets) {
  if constexpr (std::is_same_v<Series, Histogram>) {
    return std::make_unique<Histogram>(buckets);
  } else {
    return std::make_unique<Series>();
  }
}

}  // namespace

Histogram::Histogram(const std::vector<double>& upper_bounds)
    : upper_bounds_(upper_bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

void Histogram::Observe(double value) {
  auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  buckets_[it - upper_bounds_.begin()].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Histogram::cumulative_count(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= i && b < upper_bounds_.size(); ++b) {
    total += buckets_[b].load(std::memory_order_relaxed);
  }
  return total;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5};
  return kBuckets;
}

template <typename Series>
Family<Series>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {}

template <typename Series>
Series& Family<Series>::WithLabels(LabelValues values) {
  values.resize(label_names_.size());
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_ptr<Series>& series = series_[std::move(values)];
  if (!series) series = MakeSeries<Series>(buckets_);
  return *series;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Result<CounterFamily*> Metrics::AddCounter(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names) {
  return Add(counters_, name, std::make_unique<CounterFamily>(name, help, std::move(label_names)));
}

Result<GaugeFamily*> Metrics::AddGauge(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names) {
  return Add(gauges_, name, std::make_unique<GaugeFamily>(name, help, std::move(label_names)));
}

Result<HistogramFamily*> Metrics::AddHistogram(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> buckets) {
  std::sort(buckets.begin(), buckets.end());
  return Add(
      histograms_, name,
      std::make_unique<HistogramFamily>(name, help, std::move(label_names), std::move(buckets)));
}

template <typename F>
Result<F*> Metrics::Add(std::map<std::string, std::unique_ptr<F>>& families,
                        const std::string& name, std::unique_ptr<F> candidate) {
  WK_RETURN_IF_ERROR(ValidateNames(name, candidate->label_names()));
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = families.find(name);
  if (it != families.end() && it->second->label_names() == candidate->label_names()) {
    return it->second.get();
  }
  if (it != families.end() || NameTakenByOtherType(name, &families)) {
    return Error(ErrorKind::kInvalidArgument, "metric_name_taken",
                 "metric family " + name + " is already registered with another shape");
  }
  F* family = candidate.get();
  families.emplace(name, std::move(candidate));
  return family;
}

bool Metrics::NameTakenByOtherType(const std::string& name, const void* own_map) const {
  return (own_map != &counters_ && counters_.count(name) > 0) ||
         (own_map != &gauges_ && gauges_.count(name) > 0) ||
         (own_map != &histograms_ && histograms_.count(name) > 0);
}

std::string Metrics::Render() const {
  std::map<std::string, std::string> rendered;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, family] : counters_) rendered[name] = RenderFamily(*family);
  for (const auto& [name, family] : gauges_) rendered[name] = RenderFamily(*family);
  for (const auto& [name, family] : histograms_) rendered[name] = RenderFamily(*family);
  std::string out;
  for (const auto& [name, text] : rendered) out += text;
  return out;
}

}  // namespace weftkit::server
