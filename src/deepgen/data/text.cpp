#include "deepgen/data/text.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepgen/core/error.h"
#include "deepgen/core/limits.h"
#include "deepgen/data/dataset.h"

namespace deepgen {
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  check(fs::exists(path), "text file ", path, " does not exist");
  check(fs::is_regular_file(path), "text file ", path, " is not a regular file");
  const auto size = int64_t(fs::file_size(path));
  check(size <= limit_value(kMaxTextBytes), "text file ", path, ": ", size, " bytes, above the limit (",
        limit_hint(kMaxTextBytes), ")");
  std::ifstream in(path, std::ios::binary);
  check(bool(in), "cannot read text file ", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Bytes of the UTF-8 sequence that `lead` starts, or 0 when `lead` cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Splits `text` into lines, each keeping its '\n'.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    const size_t stop = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(begin, stop - begin));
    begin = stop;
  }
  return lines;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& characters) {
  to.insert(to.end(), characters.begin(), characters.end());
}

}  // namespace

std::vector<std::string> utf8_characters(const std::string& text, const std::string& source) {
  std::vector<std::string> characters;
  characters.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    const auto lead = static_cast<unsigned char>(text[at]);
    const int length = sequence_length(lead);
    bool valid = length > 0 && at + size_t(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[at + k]) & 0xC0) == 0x80;
    if (!valid) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", unsigned(lead));
      fail(source, ": not UTF-8 text: invalid byte sequence at byte ", at, " (starting with ", byte,
           "); convert the file to UTF-8, e.g. with iconv -f latin1 -t utf-8");
    }
    characters.push_back(text.substr(at, size_t(length)));
    at += size_t(length);
  }
  return characters;
}

Vocabulary::Vocabulary(std::vector<std::string> symbols) : symbols_(std::move(symbols)) {
  for (size_t k = 0; k < symbols_.size(); ++k) {
    check(index_.emplace(symbols_[k], int64_t(k)).second, "vocabulary: the character '", symbols_[k],
          "' appears twice");
  }
}

Vocabulary Vocabulary::of(const std::vector<std::string>& characters) {
  std::vector<std::string> symbols = characters;
  std::sort(symbols.begin(), symbols.end());  // byte order of UTF-8 = code-point order
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  return Vocabulary(std::move(symbols));
}

torch::Tensor Vocabulary::encode(const std::vector<std::string>& characters, const std::string& source) const {
  auto ids = torch::empty({int64_t(characters.size())}, torch::kLong);
  auto* out = ids.data_ptr<int64_t>();
  for (size_t k = 0; k < characters.size(); ++k) {
    const auto found = index_.find(characters[k]);
    if (found == index_.end()) {
      std::string shown = characters[k] == "\n" ? "\\n" : characters[k] == "\t" ? "\\t" : characters[k];
      fail(source, ": the character '", shown, "' (position ", k, ") is not in the model's vocabulary of ", size(),
           " characters; use only characters of the training text");
    }
    out[k] = found->second;
  }
  return ids;
}

std::string Vocabulary::decode(const torch::Tensor& ids) const {
  const auto flat = ids.to(torch::kCPU, torch::kLong).contiguous();
  std::string text;
  const auto* in = flat.data_ptr<int64_t>();
  for (int64_t k = 0; k < flat.numel(); ++k) {
    check(in[k] >= 0 && in[k] < size(), "vocabulary: id ", in[k], " is outside 0..", size() - 1);
    text += symbols_[size_t(in[k])];
  }
  return text;
}

std::vector<std::string> read_characters(const std::string& path) { return utf8_characters(read_file(path), path); }

TextCorpus load_fortunes(const std::string& folder) {
  const std::string dir = folder.empty() ? kFortunesDir : folder;
  check(fs::is_directory(dir), "fortunes: ", dir,
        " does not exist; install Debian's fortunes package (apt-get install fortunes, which `make` does) or give --text FILE");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && !entry.is_symlink() && !entry.path().has_extension()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  check(!files.empty(), "fortunes: ", dir, " holds no fortune files (files without an extension)");
  TextCorpus corpus;
  corpus.source = dir;
  const std::vector<std::string> separator = {"%", "\n"};
  int64_t index = 0;
  for (const auto& file : files) {
    const int64_t label = int64_t(corpus.class_names.size());
    corpus.class_names.push_back(file.filename().string());
    std::string fortune;
    auto finish = [&] {
      if (fortune.find_first_not_of(" \t\n") != std::string::npos) {
        const bool valid = is_test_item(size_t(index));
        const auto characters = utf8_characters(fortune, file.string());
        auto& text = valid ? corpus.valid : corpus.train;
        append(text, characters);
        append(text, separator);
        (valid ? corpus.valid_documents : corpus.train_documents).push_back({fortune, label});
        ++index;
      }
      fortune.clear();
    };
    for (const auto& line : lines_of(read_file(file.string()))) {
      if (line == "%\n" || line == "%") {
        finish();
      } else {
        fortune += line;
      }
    }
    finish();
  }
  check(!corpus.train.empty() && !corpus.valid.empty(), "fortunes: ", dir, " holds fewer than 10 fortunes");
  return corpus;
}

TextCorpus load_text_file(const std::string& path) {
  const std::string text = read_file(path);
  const auto lines = lines_of(text);
  TextCorpus corpus;
  corpus.source = path;
  if (lines.size() >= 10) {
    const size_t cut = lines.size() * 9 / 10;
    for (size_t k = 0; k < lines.size(); ++k) append(k < cut ? corpus.train : corpus.valid, utf8_characters(lines[k], path));
  } else {
    auto characters = utf8_characters(text, path);
    const size_t cut = characters.size() * 9 / 10;
    corpus.train.assign(characters.begin(), characters.begin() + std::ptrdiff_t(cut));
    corpus.valid.assign(characters.begin() + std::ptrdiff_t(cut), characters.end());
  }
  check(corpus.train.size() >= 2 && corpus.valid.size() >= 2, path, ": expected some text (at least 20 characters), found ",
        corpus.train.size() + corpus.valid.size(), " characters");
  return corpus;
}

TextCorpus load_corpus(const std::string& path) { return path.empty() ? load_fortunes() : load_text_file(path); }

torch::Tensor stream_chunks(const torch::Tensor& ids, int64_t streams, int64_t length) {
  check(streams >= 1, "streams (--batch-size): expected at least 1, found ", streams);
  check(length >= 1, "--seq-len: expected at least 1, found ", length);
  const int64_t row = ids.numel() / streams;
  check(row >= 2, "the text has ", ids.numel(), " characters, too few for ", streams,
        " parallel streams of at least 2; use a smaller --batch-size or a longer text");
  const int64_t chunks = (row - 1 + length - 1) / length;
  // (N) -> (streams, row), padded on the right so every chunk has length + 1 entries
  auto rows = ids.narrow(0, 0, streams * row).view({streams, row});
  const int64_t padded = chunks * length + 1;
  rows = torch::cat({rows, torch::full({streams, padded - row}, -1, torch::kLong)}, 1);
  // (streams, padded) -> (chunks, streams, length + 1): chunk k starts at k * length
  return rows.unfold(1, length + 1, length).permute({1, 0, 2}).contiguous();
}

DataSplits text_splits(const TextCorpus& corpus, const Vocabulary& vocab, int64_t streams, int64_t seq_len,
                       torch::Device device) {
  DataSplits splits;
  splits.format = "text";
  splits.class_names = corpus.class_names;
  auto train = stream_chunks(vocab.encode(corpus.train, corpus.source + " (training text)"), streams, seq_len);
  auto valid = vocab.encode(corpus.valid, corpus.source + " (validation text)");
  // The validation text is read as fewer streams when it is too short for as many as training uses.
  const int64_t valid_streams = std::max<int64_t>(1, std::min<int64_t>(streams, valid.numel() / 2));
  auto valid_chunks = stream_chunks(valid, valid_streams, seq_len);
  splits.train = {train.to(device), torch::zeros({train.size(0)}, torch::kLong).to(device)};
  splits.test = {valid_chunks.to(device), torch::zeros({valid_chunks.size(0)}, torch::kLong).to(device)};
  return splits;
}

}  // namespace deepgen
