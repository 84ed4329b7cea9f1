// A run, or several side by side, as one self-contained HTML page (scripts, styles and pictures
// inlined; no network): per metric the curves of every run (train and test per epoch), a slider over
// each run's per-epoch picture grids, the last epoch's metrics, time per epoch, the device, threads
// and LibTorch version, and the runs' configs side by side with the differences marked. Charts are
// drawn by Chart.js (Debian's libjs-chart.js), inlined from its installed file.
#pragma once

#include <string>
#include <vector>

namespace deepgen {

// Where Chart.js is installed (Debian's libjs-chart.js).
constexpr const char* kChartJs = "/usr/share/javascript/chart.js/chart.min.js";

// Writes the page about `runs` (run directories: config.json and metrics.jsonl) to `out`. Throws one
// line naming the folder that is not a run or has no metrics yet, or a missing Chart.js.
void write_html_report(const std::vector<std::string>& runs, const std::string& out,
                       const std::string& chart_js = kChartJs);

}  // namespace deepgen
