// Whole-file reads and atomic writes with POSIX calls (errno gives the reason in messages).
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "recur/error.hpp"

namespace recur::io {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Closes a descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and returns 0 or the errno of close().
  int close_now() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string parent_dir(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::vector<std::uint8_t> read_file(const std::string& path) {
  int raw_fd;
  do {
    raw_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (raw_fd < 0 && errno == EINTR);
  if (raw_fd < 0) fail<IoError>(path, ": cannot open for reading: ", errno_text(errno));
  Fd fd(raw_fd);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail<IoError>(path, ": cannot stat: ", errno_text(errno));
  if (S_ISDIR(st.st_mode)) fail<IoError>(path, ": cannot read: ", errno_text(EISDIR));
  std::vector<std::uint8_t> out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  std::uint8_t chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail<IoError>(path, ": read failed: ", errno_text(errno));
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  return out;
}

namespace {

// Creates (truncates) the temporary file <path>.tmp that write_file_atomic writes; returns the
// descriptor, or -1 with errno set.
int open_temporary(const std::string& path) {
  if (path.empty()) fail<IoError>("(empty path): cannot write a file with an empty name");
  const std::string tmp = path + ".tmp";
  int fd;
  do {
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
  const std::string tmp = path + ".tmp";
  const int raw_fd = open_temporary(path);
  if (raw_fd < 0)
    fail<IoError>(path, ": cannot create temporary file '", tmp, "': ", errno_text(errno));
  Fd fd(raw_fd);
  // From here on, every failure removes the temporary file before throwing.
  auto fail_removing = [&](const char* verb, const char* tail, int err) {
    if (fd.get() >= 0) fd.close_now();
    ::unlink(tmp.c_str());
    fail<IoError>(path, ": cannot ", verb, " temporary file '", tmp, "'", tail, ": ",
                  errno_text(err));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_removing("write", "", errno);
    }
    if (n == 0) fail_removing("write", "", EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail_removing("sync", "", errno);
  if (const int err = fd.close_now(); err != 0) fail_removing("close", "", err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail_removing("rename", " over the target", errno);
  // Make the rename itself durable. The new content is already in place, so a directory that
  // cannot be synced (some file systems refuse) is not reported as a failed write.
  const std::string dir = parent_dir(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void check_writable(const std::string& path) {
  const std::string tmp = path + ".tmp";
  const int raw_fd = open_temporary(path);
  if (raw_fd < 0)
    fail<IoError>(path, ": cannot write here (creating '", tmp, "' failed: ", errno_text(errno),
                  "); checked before starting so that no work is lost");
  ::close(raw_fd);
  ::unlink(tmp.c_str());
}

}  // namespace recur::io
