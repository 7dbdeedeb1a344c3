/* LD_PRELOAD shim for test-cli.sh, to put a save into a known moment:
 * - NS_TEST_SIGNAL_IN_FSYNC=INT|TERM raises that signal inside fsync, i.e.
 *   while a file is being saved;
 * - NS_TEST_PAUSE_OPEN=PREFIX: after opening for writing a file whose path
 *   starts with PREFIX, creates PREFIX.opened and waits (up to 60 s) until
 *   PREFIX.go exists, so another writer can run meanwhile. */
/* open and open64 both, so not the build's 64-bit redirection */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
fsync (int fd)
{
  static int (*real_fsync) (int);
  const char *name = getenv ("NS_TEST_SIGNAL_IN_FSYNC");
  if (name)
    raise (strcmp (name, "TERM") == 0 ? SIGTERM : SIGINT);
  if (!real_fsync)
    real_fsync = (int (*) (int)) dlsym (RTLD_NEXT, "fsync");
  return real_fsync (fd);
}

static void
maybe_pause (const char *path, int writing)
{
  const char *prefix = getenv ("NS_TEST_PAUSE_OPEN");
  if (!prefix || !writing || strncmp (path, prefix, strlen (prefix)) != 0
      || strstr (path, ".opened") || strstr (path, ".go"))
    return;
  char marker[4096], go[4096];
  snprintf (marker, sizeof marker, "%s.opened", prefix);
  snprintf (go, sizeof go, "%s.go", prefix);
  unsetenv ("NS_TEST_PAUSE_OPEN");   /* once */
  close (creat (marker, 0644));
  for (int i = 0; i < 6000 && access (go, F_OK) != 0; i++)
    usleep (10000);
}

#define OPEN_SHIM(fn)                                                        \
  int fn (const char *path, int flags, ...)                                  \
  {                                                                          \
    static int (*real) (const char *, int, ...);                             \
    va_list ap;                                                              \
    va_start (ap, flags);                                                    \
    int mode = (flags & O_CREAT) ? va_arg (ap, int) : 0;                     \
    va_end (ap);                                                             \
    if (!real)                                                               \
      real = (int (*) (const char *, int, ...)) dlsym (RTLD_NEXT, #fn);      \
    int fd = real (path, flags, mode);                                       \
    if (fd >= 0)                                                             \
      maybe_pause (path, (flags & O_ACCMODE) != O_RDONLY);                   \
    return fd;                                                               \
  }
OPEN_SHIM (open)
OPEN_SHIM (open64)

#define FOPEN_SHIM(fn)                                                       \
  FILE *fn (const char *path, const char *mode)                              \
  {                                                                          \
    static FILE *(*real) (const char *, const char *);                       \
    if (!real)                                                               \
      real = (FILE *(*) (const char *, const char *)) dlsym (RTLD_NEXT, #fn); \
    FILE *f = real (path, mode);                                             \
    if (f)                                                                   \
      maybe_pause (path, strpbrk (mode, "wa+") != NULL);                     \
    return f;                                                                \
  }
FOPEN_SHIM (fopen)
FOPEN_SHIM (fopen64)
