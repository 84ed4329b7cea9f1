#include "deepgen/report/html_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "deepgen/core/error.h"
#include "deepgen/core/files.h"
#include "deepgen/core/runtime.h"
#include "deepgen/report/embed.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {

// config.json flattened to "trainer.batch_size" -> "128".
void flatten(const nlohmann::json& json, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (json.is_object()) {
    for (const auto& [key, value] : json.items()) flatten(value, prefix.empty() ? key : prefix + "." + key, out);
  } else {
    out[prefix] = json.is_string() ? json.get<std::string>() : json.dump();
  }
}

struct RunPage {
  std::string dir, name;
  nlohmann::json config;
  std::vector<nlohmann::json> lines;                            // metrics.jsonl
  nlohmann::json steps = nlohmann::json::array();               // steps.jsonl: {"step", "loss"} per metrics read
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> pictures;  // name -> (epoch, base64 PNG)
  nlohmann::json evaluation;                                    // eval.json: the last `deepgen eval`, if any
};

RunPage read_run(const std::string& dir) {
  RunPage run;
  run.dir = dir;
  run.name = fs::path(dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  check(fs::is_directory(dir), "report: ", dir, " is not a folder; give run directories (deepgen train ... --out DIR)");
  const fs::path config = fs::path(dir) / "config.json";
  check(fs::exists(config), "report: ", dir, " is not a run directory: it has no config.json");
  try {
    run.config = nlohmann::json::parse(read_text_file(config));
  } catch (const nlohmann::json::exception& error) {
    fail("report: ", config.string(), " is not valid JSON (", error.what(), ")");
  }
  const fs::path metrics = fs::path(dir) / "metrics.jsonl";
  if (fs::exists(metrics)) {
    std::istringstream in(read_text_file(metrics));
    for (std::string line; std::getline(in, line);) {
      const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (json.is_object() && json.contains("epoch") && json.contains("split")) run.lines.push_back(json);
    }
  }
  check(!run.lines.empty(), "report: ", dir, " has no metrics yet (metrics.jsonl is written after the first epoch)");
  if (fs::exists(fs::path(dir) / "steps.jsonl")) {
    std::istringstream in(read_text_file(fs::path(dir) / "steps.jsonl"));
    for (std::string line; std::getline(in, line);) {
      const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (json.is_object() && json.contains("step") && json.contains("loss") && json["loss"].is_number()) {
        run.steps.push_back({{"x", json["step"]}, {"y", json["loss"]}});
      }
    }
  }
  if (fs::exists(fs::path(dir) / "eval.json")) {
    run.evaluation =
        nlohmann::json::parse(read_text_file(fs::path(dir) / "eval.json"), nullptr, /*allow_exceptions=*/false);
  }
  const std::regex picture(R"(epoch_(\d+)_(.+)\.png)");
  if (fs::is_directory(fs::path(dir) / "images")) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(fs::path(dir) / "images")) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::smatch match;
      const std::string name = file.filename().string();
      if (!std::regex_match(name, match, picture)) continue;
      const std::string bytes = read_text_file(file);
      run.pictures[match[2]].push_back({std::stoll(match[1]), base64(std::vector<uint8_t>(bytes.begin(), bytes.end()))});
    }
  }
  return run;
}

std::string number(const nlohmann::json& value) {
  std::ostringstream text;
  if (value.is_number_float()) text << std::setprecision(6) << value.get<double>();
  else text << (value.is_string() ? value.get<std::string>() : value.dump());
  return escape(text.str());
}

// What `deepgen eval` kept (eval.json): the test metrics, a generator's scores, restoration tables.
void evaluation_html(std::ostream& html, const RunPage& run) {
  const nlohmann::json& e = run.evaluation;
  html << "<h3>" << escape(run.name) << ": epoch " << number(e.value("epoch", nlohmann::json("?")))
       << (e.contains("data") ? ", data " + number(e["data"]) : "") << "</h3>\n";
  auto pairs = [&](const nlohmann::json& object) {
    html << "<table>";
    for (const auto& [key, value] : object.items()) {
      if (value.is_primitive()) html << "<tr><td>" << escape(key) << "</td><td>" << number(value) << "</td></tr>";
    }
    html << "</table>\n";
  };
  if (e.contains("metrics") && e["metrics"].is_object()) pairs(e["metrics"]);
  if (e.contains("generator") && e["generator"].is_object()) {
    const auto& g = e["generator"];
    html << "<p>Samples scored with a classifier:</p>\n";
    pairs(g);
    if (g.contains("class_fractions") && g.contains("class_names")) {
      html << "<table><tr><th>class</th><th>share of samples</th></tr>";
      for (size_t k = 0; k < g["class_fractions"].size() && k < g["class_names"].size(); ++k) {
        html << "<tr><td>" << number(g["class_names"][k]) << "</td><td>" << number(g["class_fractions"][k]) << "</td></tr>";
      }
      html << "</table>\n";
    }
  }
  if (e.contains("tables") && e["tables"].is_array()) {
    for (const auto& table : e["tables"]) {
      if (!table.contains("methods") || !table.contains("images")) continue;
      html << "<p>" << number(table.value("task", nlohmann::json(""))) << ": PSNR (dB) / SSIM</p>\n<table><tr><th>image</th>";
      for (const auto& method : table["methods"]) html << "<th>" << number(method) << "</th>";
      html << "</tr>";
      auto row = [&](const std::string& name, const nlohmann::json& cells) {
        html << "<tr><td>" << escape(name) << "</td>";
        for (const auto& method : table["methods"]) {
          const auto& cell = cells.value(method.get<std::string>(), nlohmann::json::object());
          html << "<td>" << number(cell.value("psnr", nlohmann::json("-"))) << " / " << number(cell.value("ssim", nlohmann::json("-")))
               << "</td>";
        }
        html << "</tr>";
      };
      for (const auto& image : table["images"]) row(image.value("image", std::string("?")), image);
      if (table.contains("mean")) row("mean", table["mean"]);
      html << "</table>\n";
    }
  }
}


const char* const kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
tr.differs td { background: #fff3c4; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } .chart { width: 460px; height: 300px; }
.picture { display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; }
.picture img { image-rendering: pixelated; width: 320px; display: block; border: 1px solid #ddd; }
)";

// The page's script: one chart per metric, sliders over the pictures, then the marks a test reads.
const char* const kScript = R"(
const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];
let drawn = 0, points = 0;
const stepCanvas = document.getElementById('chart-steps');
if (stepCanvas) {
  const datasets = REPORT.runs.filter(run => run.steps.length > 0).map((run, r) => {
    points += run.steps.length;
    return {label: run.name, data: run.steps, borderColor: palette[r % palette.length],
            backgroundColor: palette[r % palette.length], pointRadius: run.steps.length > 40 ? 0 : 2, tension: 0};
  });
  new Chart(stepCanvas, {type: 'line', data: {datasets: datasets},
    options: {animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
              plugins: {title: {display: true, text: 'loss per step'}},
              scales: {x: {type: 'linear', title: {display: true, text: 'step'}}, y: {title: {display: true, text: 'loss'}}}}});
  drawn += 1;
}
REPORT.metrics.forEach((metric, m) => {
  const datasets = [];
  REPORT.runs.forEach((run, r) => {
    ['train', 'test'].forEach(split => {
      const data = run.lines.filter(l => l.split === split && typeof l[metric] === 'number')
                            .map(l => ({x: l.epoch, y: l[metric]}));
      if (data.length === 0) return;
      points += data.length;
      datasets.push({label: run.name + ' ' + split, data: data, borderColor: palette[r % palette.length],
                     backgroundColor: palette[r % palette.length], borderDash: split === 'test' ? [6, 4] : [],
                     pointRadius: data.length > 40 ? 0 : 3, tension: 0});
    });
  });
  const canvas = document.getElementById('chart-' + m);
  new Chart(canvas, {type: 'line', data: {datasets: datasets},
    options: {animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
              plugins: {title: {display: true, text: metric}},
              scales: {x: {type: 'linear', title: {display: true, text: 'epoch'}}, y: {title: {display: true, text: metric}}}}});
  drawn += 1;
});
document.querySelectorAll('input.epochs').forEach(slider => {
  const frames = REPORT.pictures[slider.dataset.key];
  const img = document.getElementById(slider.dataset.key), label = document.getElementById(slider.dataset.key + '-epoch');
  slider.addEventListener('input', () => {
    img.src = 'data:image/png;base64,' + frames[slider.value][1];
    label.textContent = 'epoch ' + frames[slider.value][0];
  });
});
document.body.dataset.chartsDrawn = drawn;
document.body.dataset.points = points;
)";

}  // namespace

void write_html_report(const std::vector<std::string>& dirs, const std::string& out, const std::string& chart_js) {
  check(!dirs.empty(), "report: give at least one run directory");
  check(fs::exists(chart_js), "report: Chart.js is not installed at ", chart_js,
        "; install Debian's libjs-chart.js (apt-get install libjs-chart.js)");
  std::vector<RunPage> runs;
  for (const auto& dir : dirs) runs.push_back(read_run(dir));

  std::set<std::string> metric_set;
  for (const auto& run : runs) {
    for (const auto& line : run.lines) {
      for (const auto& [key, value] : line.items()) {
        if (value.is_number() && key != "epoch") metric_set.insert(key);
      }
    }
  }
  // "loss" first, then the others by name; "seconds" last.
  std::vector<std::string> metrics;
  if (metric_set.count("loss")) metrics.push_back("loss");
  for (const auto& m : metric_set) {
    if (m != "loss" && m != "seconds") metrics.push_back(m);
  }
  if (metric_set.count("seconds")) metrics.push_back("seconds");

  nlohmann::json data = {{"metrics", metrics}, {"runs", nlohmann::json::array()}, {"pictures", nlohmann::json::object()}};
  std::ostringstream html;
  std::string title;
  for (const auto& run : runs) title += (title.empty() ? "" : ", ") + run.name;
  html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>deepgen report: " << escape(title)
       << "</title>\n<style>" << kStyle << "</style>\n<script>\n" << read_text_file(chart_js) << "\n</script>\n</head>\n<body>\n";
  html << "<h1>deepgen report: " << escape(title) << "</h1>\n<p>Written on " << escape(machine_description()) << ".</p>\n";

  // The runs: what, where, how fast, and their last metrics.
  html << "<h2>Runs</h2>\n<table><tr><th>run</th><th>model</th><th>epochs</th><th>device</th><th>threads</th>"
          "<th>LibTorch</th><th>machine</th><th>seconds per epoch (median)</th><th>last train</th><th>last test</th></tr>\n";
  for (const auto& run : runs) {
    nlohmann::json lines = nlohmann::json::array();
    std::vector<double> seconds;
    std::map<int64_t, double> epoch_seconds;
    nlohmann::json last_train, last_test;
    int64_t epochs = 0;
    for (const auto& line : run.lines) {
      lines.push_back(line);
      epochs = std::max<int64_t>(epochs, line.at("epoch").get<int64_t>());
      if (line.contains("seconds") && line["seconds"].is_number()) {
        epoch_seconds[line.at("epoch").get<int64_t>()] += line["seconds"].get<double>();
      }
      (line.at("split") == "train" ? last_train : last_test) = line;
    }
    for (const auto& [epoch, s] : epoch_seconds) seconds.push_back(s);
    std::sort(seconds.begin(), seconds.end());
    auto summary = [](nlohmann::json line) {
      std::ostringstream text;
      if (line.is_null()) return std::string("-");
      for (const auto& [key, value] : line.items()) {
        if (key == "epoch" || key == "split" || key == "seconds" || !value.is_number()) continue;
        text << key << " " << value.get<double>() << "; ";
      }
      return text.str();
    };
    const auto& c = run.config;
    html << "<tr><td>" << escape(run.dir) << "</td><td>" << escape(c.value("model", std::string("?"))) << "</td><td>"
         << epochs << "</td><td>" << escape(c.value("device", std::string("?"))) << "</td><td>"
         << (c.contains("threads") ? c["threads"].dump() : "?") << "</td><td>"
         << escape(c.value("torch_version", std::string("?"))) << "</td><td>"
         << escape(c.value("machine", std::string("?"))) << "</td><td>"
         << (seconds.empty() ? std::string("-") : std::to_string(seconds[seconds.size() / 2])) << "</td><td>"
         << escape(summary(last_train)) << "</td><td>" << escape(summary(last_test)) << "</td></tr>\n";
    data["runs"].push_back({{"name", run.name}, {"lines", lines}, {"steps", run.steps}});
  }
  html << "</table>\n";

  html << "<h2>Curves</h2>\n<p>Training loss per step (the mean over each --log-every window), then every metric per "
          "epoch: solid train, dashed test.</p>\n<div class=\"charts\">\n";
  bool any_steps = false;
  for (const auto& run : runs) any_steps = any_steps || !run.steps.empty();
  if (any_steps) html << "<div class=\"chart\"><canvas id=\"chart-steps\"></canvas></div>\n";
  for (size_t m = 0; m < metrics.size(); ++m) {
    html << "<div class=\"chart\"><canvas id=\"chart-" << m << "\"></canvas></div>\n";
  }
  html << "</div>\n";

  bool any_pictures = false;
  for (size_t r = 0; r < runs.size(); ++r) any_pictures = any_pictures || !runs[r].pictures.empty();
  if (any_pictures) {
    html << "<h2>Pictures</h2>\n<p>The slider picks the epoch.</p>\n";
    for (size_t r = 0; r < runs.size(); ++r) {
      for (const auto& [name, frames] : runs[r].pictures) {
        const std::string key = "picture-" + std::to_string(r) + "-" + name;
        nlohmann::json list = nlohmann::json::array();
        for (const auto& [epoch, png] : frames) list.push_back({epoch, png});
        data["pictures"][key] = list;
        html << "<div class=\"picture\"><div>" << escape(runs[r].name) << ": " << escape(name) << " <span id=\""
             << escape(key) << "-epoch\">epoch " << frames.back().first << "</span></div>\n<input class=\"epochs\" type=\"range\" min=\"0\" max=\""
             << frames.size() - 1 << "\" value=\"" << frames.size() - 1 << "\" data-key=\"" << escape(key)
             << "\">\n<img id=\"" << escape(key) << "\" alt=\"" << escape(name) << "\" src=\"data:image/png;base64,"
             << frames.back().second << "\"></div>\n";
      }
    }
  }

  bool any_evaluation = false;
  for (const auto& run : runs) any_evaluation = any_evaluation || run.evaluation.is_object();
  if (any_evaluation) {
    html << "<h2>Evaluation</h2>\n<p>The last <code>deepgen eval</code> of each run (kept as eval.json).</p>\n";
    for (const auto& run : runs) {
      if (run.evaluation.is_object()) evaluation_html(html, run);
    }
  }

  // The configs side by side; rows whose values differ are marked.
  std::vector<std::map<std::string, std::string>> flat(runs.size());
  std::set<std::string> keys;
  for (size_t r = 0; r < runs.size(); ++r) {
    flatten(runs[r].config, "", flat[r]);
    for (const auto& [key, value] : flat[r]) keys.insert(key);
  }
  html << "<h2>Configs</h2>\n<table><tr><th>option</th>";
  for (const auto& run : runs) html << "<th>" << escape(run.name) << "</th>";
  html << "</tr>\n";
  for (const auto& key : keys) {
    std::set<std::string> values;
    for (const auto& f : flat) values.insert(f.count(key) ? f.at(key) : "");
    html << "<tr" << (values.size() > 1 ? " class=\"differs\"" : "") << "><td>" << escape(key) << "</td>";
    for (const auto& f : flat) html << "<td>" << escape(f.count(key) ? f.at(key) : "") << "</td>";
    html << "</tr>\n";
  }
  html << "</table>\n";

  std::string json = data.dump();
  // Inside <script>, "</" would end the element; JSON allows "<\/".
  for (size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3)) json.replace(at, 2, "<\\/");
  html << "<script>\nconst REPORT = " << json << ";\n" << kScript << "</script>\n</body></html>\n";
  write_text_atomically(out, html.str());
}

}  // namespace deepgen
