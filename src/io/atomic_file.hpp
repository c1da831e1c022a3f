// Whole-file reads and crash-safe (write-temp, fsync, rename) writes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace recur::io {

// Reads the whole file. Throws IoError naming the path and the system's reason.
std::vector<std::uint8_t> read_file(const std::string& path);

// Writes <path>.tmp, flushes + fsyncs it, renames it over <path> and fsyncs the directory
// (best effort: some file systems cannot sync a directory). On any failure before the rename
// the temporary file is removed, an existing <path> is left untouched, and IoError naming the
// path is thrown.
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes);

// Checks, before long work, that write_file_atomic(path, ...) will be able to create its temporary
// file: creates and removes <path>.tmp. Throws IoError "<path>: cannot write here (...)" naming
// the system's reason (missing folder, not a folder, permission, read-only file system).
void check_writable(const std::string& path);

}  // namespace recur::io
