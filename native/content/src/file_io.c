#define _GNU_SOURCE
#include "file_io.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed(io_failure *why, const char *syscall) {
  why->errnum = errno;
  why->syscall = syscall;
  return -1;
}

int open_source(const char *path, io_failure *why) {
  int fd;
  do fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  /* Linux grants O_NOATIME only to the file's owner (or root). */
  if (fd < 0 && errno == EPERM) {
    do fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
  }
  return fd < 0 ? failed(why, "open") : fd;
}

int64_t file_size(int fd, io_failure *why) {
  struct stat st;
  if (fstat(fd, &st) != 0) return failed(why, "fstat");
  return (int64_t)st.st_size;
}

int64_t read_fully(int fd, uint8_t *buf, size_t n, uint64_t position, io_failure *why) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = pread(fd, buf + done, n - done, (off_t)(position + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return failed(why, "read");
    }
    if (got == 0) break;
    done += (size_t)got;
  }
  return (int64_t)done;
}

int write_fully(int fd, const uint8_t *buf, size_t n, uint64_t position, io_failure *why) {
  size_t done = 0;
  while (done < n) {
    ssize_t put = pwrite(fd, buf + done, n - done, (off_t)(position + done));
    if (put < 0) {
      if (errno == EINTR) continue;
      return failed(why, "write");
    }
    done += (size_t)put;
  }
  return 0;
}
