// Text for the sequence models: UTF-8 files read as sequences of code points, a character vocabulary,
// the default corpus (Debian's fortunes) with its train/validation rule, and the layout for truncated
// backpropagation through time (parallel streams cut into chunks, read in order).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "deepgen/data/dataset.h"

namespace deepgen {

// Where the plain-text fortune files of Debian's `fortunes` package live.
inline const char* kFortunesDir = "/usr/share/games/fortunes";

// UTF-8 text -> one string per code point. Throws naming `source` and the byte offset of the first
// invalid sequence.
std::vector<std::string> utf8_characters(const std::string& text, const std::string& source);

// The characters a model reads and writes, sorted by code point; ids are positions in this list.
class Vocabulary {
 public:
  Vocabulary() = default;
  explicit Vocabulary(std::vector<std::string> symbols);
  // Every distinct character of `characters`.
  static Vocabulary of(const std::vector<std::string>& characters);

  int64_t size() const { return int64_t(symbols_.size()); }
  const std::vector<std::string>& symbols() const { return symbols_; }
  bool contains(const std::string& character) const { return index_.count(character) > 0; }
  // Characters -> (N) int64 ids. A character outside the vocabulary throws naming `source`, the
  // character and its position.
  torch::Tensor encode(const std::vector<std::string>& characters, const std::string& source) const;
  std::string decode(const torch::Tensor& ids) const;  // (N) ids -> UTF-8
  std::string symbol(int64_t id) const { return symbols_.at(size_t(id)); }

 private:
  std::vector<std::string> symbols_;
  std::map<std::string, int64_t> index_;
};

// A labelled piece of text: one fortune and the file it came from.
struct Document {
  std::string text;
  int64_t label = 0;
};

struct TextCorpus {
  std::string source;                // the file or folder read
  std::vector<std::string> train;    // characters of the training text
  std::vector<std::string> valid;    // characters of the validation text
  std::vector<Document> train_documents, valid_documents;  // the fortunes (empty for a plain file)
  std::vector<std::string> class_names;                    // fortune file names, by label
};

// A whole UTF-8 file as characters. Throws naming the file when it is missing, unreadable or not UTF-8.
std::vector<std::string> read_characters(const std::string& path);

// The fortunes corpus: every file without an extension in `dir` ("" = kFortunesDir; sorted by name; the .dat indexes and
// .u8 links are skipped), split into fortunes at lines holding a single '%'. Fortune i of the whole
// sequence (counting from 0, files in name order) is validation when i % 10 == 9, training otherwise.
// The training text is the training fortunes in order, each followed by "%\n"; likewise validation.
TextCorpus load_fortunes(const std::string& dir = "");

// A plain UTF-8 file: the first 90% of its lines are the training text, the remaining lines validation
// (a file of under 10 lines is cut at 90% of its characters instead).
TextCorpus load_text_file(const std::string& path);

// `path` if given, else the fortunes. Throws naming the file, or saying how to install the fortunes.
TextCorpus load_corpus(const std::string& path);

// The layout for truncated BPTT: `ids` (N) is cut into `streams` parallel rows of L = N / streams
// characters (the last N % streams characters are dropped), and each row into chunks of `length`
// inputs plus the next character. Returns (K, streams, length + 1) int64, K = ceil((L - 1) / length);
// chunk k, row r holds characters r*L + k*length ... + length of the text; positions past the end of
// a row are -1 (no target). Consecutive chunks continue each row, so a hidden state carried from chunk
// k to k + 1 has read everything before.
torch::Tensor stream_chunks(const torch::Tensor& ids, int64_t streams, int64_t length);

// What the trainer reads for a character-level language model: the training and validation texts,
// encoded with `vocab`, as stream_chunks(ids, streams, seq_len) (labels are zeros). The "images" of
// each split are the chunks, read one per step in order.
DataSplits text_splits(const TextCorpus& corpus, const Vocabulary& vocab, int64_t streams, int64_t seq_len,
                       torch::Device device);

}  // namespace deepgen
