/* The instruction set a per-ISA kernel file is built for (internal):
 * meson compiles conv2d_direct.c and conv2d_winograd.c once per set, with
 * -DNS_ISA_AVX512 / -DNS_ISA_AVX2 and their -m flags, and once plain for
 * the portable tables.  GCC vector types of VL floats keep one source for
 * all three. */
#pragma once
#include <glib.h>

#if defined NS_ISA_AVX512
#define VL        16
#define ISA_NAME  "avx512"
#define ISA_TABLE(prefix) prefix##_avx512
#elif defined NS_ISA_AVX2
#define VL        8
#define ISA_NAME  "avx2"
#define ISA_TABLE(prefix) prefix##_avx2
#else
#define VL        4     /* SSE2 on x86-64, whatever the target has elsewhere */
#define ISA_NAME  "portable"
#define ISA_TABLE(prefix) prefix##_portable
#endif

typedef float vf __attribute__ ((vector_size (VL * sizeof (float))));
typedef float vfu __attribute__ ((vector_size (VL * sizeof (float)), aligned (4)));

#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

ALWAYS_INLINE vf
load (const float *p)
{
  return *(const vfu *) p;
}

ALWAYS_INLINE void
store (float *p, vf v)
{
  *(vfu *) p = v;
}
