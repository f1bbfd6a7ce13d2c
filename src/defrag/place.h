// Step 9 of every run (the algorithm is at the top of defrag/defrag.cc):
// putting a finished, verified copy where it belongs, beside the input under
// a new name or over the input itself (--in-place), in one rename. A .hyper
// file, each extract of a package and the package itself all go through it.
#pragma once

#include <optional>

#include "defrag/prepare.h"

namespace hyperdefrag {

// Step 9 of the algorithm in defrag/defrag.cc, a to d: moves the output
// written under prepared.temp() to its final name. Until the last rename the
// input is untouched. Throws hyperdefrag::Error naming the file and the
// cause; on failure the copy is left to its TempFile to remove, and a backup
// this call added is removed again. Before the rename the copy gets the note
// of util/compacted_mark.h, with `written_version` (the format version
// written, if there is one).
void place(Prepared& prepared, std::optional<int> written_version);

}  // namespace hyperdefrag
