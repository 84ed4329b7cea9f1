// What the units of a character-level language model respond to (Karpathy, Johnson & Fei-Fei 2015,
// "Visualizing and Understanding Recurrent Networks"): simple features of each character's context,
// the correlation of every hidden unit with each of them, and an HTML page that colours the text by
// one unit's activation.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace deepgen {

// Per character of `characters` (one UTF-8 character each), as (N) float tensors:
//   position_in_line: characters since the last line break (0 at a line start)
//   inside_quotes:    1 between an opening and a closing '"' (the quote marks themselves count as inside)
//   inside_brackets:  1 while more '(' / '[' / '{' have been opened than closed
//   line_end_near:    1 when the next line break is at most 5 characters ahead
//   is_space:         1 for spaces, tabs and line breaks
struct TextFeature {
  std::string name;
  torch::Tensor values;
};
std::vector<TextFeature> text_features(const std::vector<std::string>& characters);

// Pearson correlation of each column of `activations` (N, units) with `feature` (N): (units). A
// constant column or feature gives 0.
torch::Tensor unit_correlations(const torch::Tensor& activations, const torch::Tensor& feature);

struct CellMatch {
  std::string feature;
  int64_t unit = 0;
  double correlation = 0;
};
// For each feature, the `top` units with the largest |correlation|, strongest first; features that are
// constant in the text (no quotes at all, say) are left out.
std::vector<CellMatch> best_cells(const torch::Tensor& activations, const std::vector<TextFeature>& features,
                                  int64_t top);

// An HTML page: one section per (title, unit), the text with each character's background coloured by
// the unit's activation (blue -1 ... white 0 ... red +1). Characters are escaped; line breaks are kept.
std::string cells_html(const std::vector<std::string>& characters, const torch::Tensor& activations,
                       const std::vector<std::pair<std::string, int64_t>>& sections, const std::string& title);

}  // namespace deepgen
