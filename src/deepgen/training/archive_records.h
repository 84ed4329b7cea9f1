// The records of a deepgen checkpoint that LibTorch reads without defending itself, checked before it
// reads them. A checkpoint is a LibTorch archive (a zip): `data.pkl` (a pickle of the module tree: the
// JSON header, tensor sizes), `code/**.py` (TorchScript class declarations of that tree, which LibTorch
// compiles), `code/**.py.debug_pkl`, `constants.pkl`, `version` (and, from LibTorch 2.x, `byteorder` and
// `.data/serialization_id`). LibTorch 1.13 dies with SIGSEGV on some edited pickles (its unpickler pops
// an empty stack) and code records (`ScriptTypeParser::parseClassConstant`): fuzz_checkpoint found both
// (fuzz/regressions/checkpoint/). The CRC-32 check refuses damaged files; these rules refuse files that
// were edited with valid CRCs, by accepting only the forms LibTorch writes for deepgen's archives.
#pragma once

#include <string>
#include <vector>

#include "deepgen/core/zip_check.h"

namespace deepgen {

// "" when `text` is a TorchScript code record of the form LibTorch writes for a module's attributes
// (`class Module(Module):`, `__parameters__`/`__buffers__` name lists, `name : Type` and
// `__annotations__["key"] = Type` lines, Type one of Tensor, int, float, str, bool, a Tuple/List/Optional
// of those, or another such Module); otherwise the first line that is not, and what it should be.
std::string torchscript_record_problem(const std::string& text);

// "" when `bytes` is a protocol-2 pickle that LibTorch's unpickler can read without running off its
// stack or memo: known opcodes only, their arguments inside the record, every pop matched by a push of
// the right kind (REDUCE/NEWOBJ call a GLOBAL with a tuple, SETITEMS fill a dict, ...), memo ids put in
// order and got after they were put, the globals of a tensor archive only, one object left at STOP and
// nothing after it. Otherwise the byte offset and what is wrong there.
std::string pickle_problem(const std::string& bytes);

// The rules for every such record of a checkpoint, for check_zip_integrity().
std::vector<ZipEntryRule> checkpoint_record_rules();

}  // namespace deepgen
