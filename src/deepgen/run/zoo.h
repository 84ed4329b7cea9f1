// The model zoo: trained runs shipped with deepgen, so every command works the moment it is built.
// A zoo is a folder (zoo/ in the sources, share/deepgen/zoo when installed, or $DEEPGEN_ZOO) holding one
// run directory per model (weights-only checkpoint.pt, config.json, config.toml, metrics.jsonl, the
// pictures worth showing) and a manifest, zoo.json: for each entry what it is, the command and data that
// trained it, machine and time, its headline metric (and on how many test examples it was measured),
// and the size and SHA-256 of each of its files, checked whenever the entry is loaded.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace deepgen {

struct ZooEntry {
  std::string name;         // its folder in the zoo: "dncnn-blind"
  std::string dir;          // that folder's path
  nlohmann::json manifest;  // its object in zoo.json
};

// The zoo folder: $DEEPGEN_ZOO, else share/deepgen/zoo beside the installed program, else the source
// tree's zoo/. May not exist (a zoo with no entries).
std::string zoo_dir();

// The entries of the zoo at `dir` (default: zoo_dir()), in the manifest's order. A manifest that is not
// valid JSON or lacks a field is one error naming it.
std::vector<ZooEntry> zoo_entries(const std::string& dir = "");

// `run` as given when it exists; "zoo/NAME" or "zoo:NAME" that does not exist from here: the entry NAME of
// zoo_dir(). Anything else is returned unchanged (the loader then names it).
std::string resolve_run(const std::string& run);

// The entry's name when `run` is a folder of a zoo (its parent folder has a zoo.json that lists it),
// else "". Commands write their default outputs for such a run to the current folder, not into the zoo.
std::string zoo_entry_name(const std::string& run);

// When `run_dir` is an entry of a zoo (its parent folder has a zoo.json that lists it), checks the size
// and SHA-256 of each file the manifest records for it: a file that differs is one error naming it,
// both digests and how to restore it. Does nothing for other runs.
void verify_zoo_entry(const std::string& run_dir);

// The entry the zoo names for a default use ("denoise-gray", "denoise-rgb", "upscale-x2", ...), i.e. an
// entry whose manifest lists it under "defaults"; throws listing the zoo's defaults when none does.
ZooEntry zoo_default(const std::string& use);

// The SHA-256 of a file, in hex.
std::string sha256_of_file(const std::string& path);

// What `deepgen zoo add` writes into the manifest, besides the files.
struct ZooAddition {
  std::string description;            // one line
  std::vector<std::string> defaults;  // uses it is the default for
  nlohmann::json headline;            // {"metric", "value", "test_examples", "higher_is_better"}
  nlohmann::json extra;               // recorded as given ("data", "notes", ...)
  std::string eval_data;              // the entry's data folder for evaluation, relative to the folder
                                      // that holds the zoo ("" = the run's, made relative when inside it)
};

// The folder that holds the zoo folder `zoo` (the source tree, for the sources' zoo/).
std::string zoo_root(const std::string& zoo);

// zoo_root of the zoo that lists `run` as an entry, or "" when `run` is no zoo entry. An entry's relative
// data folder (zoo add) is relative to it.
std::string zoo_root_of_entry(const std::string& run);

// zoo_root(zoo) / `relative`, checked to be a relative path naming a folder (zoo add --eval-data).
std::string zoo_data_folder(const std::string& zoo, const std::string& relative);

// Copies the run at `run_dir` into `zoo`/`name` as a weights-only entry (checkpoint, config, metrics, the
// last pictures) and adds or replaces its manifest entry (written whole). Returns the entry. A fine-tuned
// run (--init-from) keeps its whole recipe: the flags of each earlier stage of the chain are
// stage1.toml, stage2.toml, ... (stages.json: their epochs and seconds), the command chains them and the
// seconds add up; a stage whose run is gone is an error naming it. A data folder
// inside the folder that holds the zoo (the source tree: data/natural) is recorded relative to it, so the
// entry evaluates wherever the tree is cloned; one outside (/usr/share/datasets/...) stays absolute.
ZooEntry add_to_zoo(const std::string& run_dir, const std::string& zoo, const std::string& name,
                    const ZooAddition& addition);

}  // namespace deepgen
