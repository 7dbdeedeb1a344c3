/* The fuzz targets' invariant check: a broken invariant is a finding, so
 * abort and let libFuzzer save the input. */
#pragma once
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond))                                                           \
      {                                                                    \
        fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                          \
      }                                                                    \
  } while (0)
