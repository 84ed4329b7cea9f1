// deepgen report: a run (or several) as one self-contained HTML page.
#include <iostream>

#include "common.h"
#include "deepgen/report/html_report.h"

namespace deepgen::cli {

void add_report_commands(CLI::App& app) {
  auto runs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto* report = app.add_subcommand(
      "report", "One self-contained HTML page of runs: curves, pictures per epoch, configs side by side");
  report->add_option("runs", *runs, "Run directories")->required();
  report->add_option("--out", *out, "HTML file (default <run>/report.html for one run, report.html for several)")
      ->check(file_ending(".html"));
  report->callback([=] {
    const std::string path = !out->empty()       ? *out
                             : runs->size() == 1 ? default_output(runs->front(), "report.html")
                                                 : std::string("report.html");
    write_html_report(*runs, path);
    std::cout << path << std::endl;
  });
}

}  // namespace deepgen::cli
