// libFuzzer harness of the text corpus readers (data/text.h): a plain UTF-8 file (load_text_file), the
// same bytes as a fortunes folder's only file (load_fortunes), and the vocabulary built from what was read.
#include "deepgen/core/error.h"
#include "deepgen/data/text.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = deepgen::fuzz::write_input(data, size, "corpus.txt");
  try {
    const deepgen::TextCorpus corpus = deepgen::load_text_file(path);
    const auto vocab = deepgen::Vocabulary::of(corpus.train);
    const auto ids = vocab.encode(corpus.train, path);
    if (vocab.decode(ids).size() > size) __builtin_trap();
    (void)deepgen::stream_chunks(ids, 2, 3);
  } catch (const deepgen::Error&) {
  }
  deepgen::fuzz::write_input(data, size, "fortunes/fortunes");
  try {
    (void)deepgen::load_fortunes((deepgen::fuzz::scratch_dir() / "fortunes").string());
  } catch (const deepgen::Error&) {
  }
  return 0;
}
