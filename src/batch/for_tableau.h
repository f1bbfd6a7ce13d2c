// --for-tableau RELEASE: the format version written is the newest that the
// Tableau release opens (check/tableau_releases.h has the table and its
// source); a column that needs a newer version is refused before anything is
// written, naming the release and the releases that could open it.
#pragma once

#include <string_view>

#include "check/tableau_releases.h"
#include "defrag/defrag.h"

namespace hyperdefrag::batch {

// Sets options.target_version (and what its refusal says) for `target`.
void write_for(const check::TableauTarget& target, DefragOptions& options);

// For a person, when the patch level was left out and mattered: "--for-tableau
// 2022.1 writes format version 1, which every patch level of 2022.1 opens
// (from 2022.1.2 on, version 2 opens too: give the patch level to write it)";
// empty otherwise.
std::string ambiguity_note(std::string_view text, const check::TableauTarget& target);

}  // namespace hyperdefrag::batch
