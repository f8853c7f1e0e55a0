/*
 * Reading source files and writing restored ones, with errno kept for the
 * caller's message. Files being backed up are opened with O_NOATIME where
 * the kernel allows it, as services/repo/open-source-file.ts explains.
 */
#ifndef FERRY_FILE_IO_H
#define FERRY_FILE_IO_H
#include <stddef.h>
#include <stdint.h>

/* A failed system call: errno, and the call's name as Node names it ("open", "read", "write"). */
typedef struct {
  int errnum;
  const char *syscall;
} io_failure;

int open_source(const char *path, io_failure *why);
/* fstat's size, or -1. */
int64_t file_size(int fd, io_failure *why);
/* Reads up to n bytes at `position`, stopping only at the end of the file; bytes read, or -1. */
int64_t read_fully(int fd, uint8_t *buf, size_t n, uint64_t position, io_failure *why);
/* Writes all n bytes at `position`; 0, or -1. */
int write_fully(int fd, const uint8_t *buf, size_t n, uint64_t position, io_failure *why);

#endif
