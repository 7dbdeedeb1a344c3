/* Bilinear x2 upsampling with half-pixel centres: output pixel 2i+a samples
 * the input at i - 1/4 (a = 0) or i + 1/4 (a = 1), i.e. 3/4 of pixel i and
 * 1/4 of its neighbour on that side, per axis; a neighbour past the border
 * is the pixel itself.  Unlike nearest-neighbour copies it leaves no 2x2
 * block structure for the next 3x3 conv to turn into a dot grid.  Large
 * layers run their planes on the conv kernels' pool, each by one task. */
#include "ns_ops.h"
#include "tasks.h"

/* the neighbour output pixel 2i+a leans on, clamped at the border */
static inline int
neighbour (int i, int a, int len)
{
  int j = a ? i + 1 : i - 1;
  return j < 0 ? 0 : j >= len ? len - 1 : j;
}

typedef struct
{
  float *out;
  const float *in;
  int h, w;
} Job;

/* below this many output floats, planes run here, not on the pool */
#define THREAD_MIN (1 << 16)

static void
run_planes (NsTaskFunc func, Job *job, int planes)
{
  if ((size_t) planes * 4 * job->h * job->w >= THREAD_MIN)
    ns_tasks_run (planes, func, job);
  else
    for (int p = 0; p < planes; p++)
      func (job, p, 0);
}

/* GCC vectors of 16 and 4 floats; loads through a macro, as a function
 * returning a 16-float vector would change the ABI without AVX-512 */
typedef float v16 __attribute__ ((vector_size (64)));
typedef float v16u __attribute__ ((vector_size (64), aligned (4)));
typedef int v16i __attribute__ ((vector_size (64)));
typedef float v4 __attribute__ ((vector_size (16)));
typedef float v4u __attribute__ ((vector_size (16), aligned (4)));
typedef int v4i __attribute__ ((vector_size (16)));
#define LOAD(type, p) (*(const type *) (p))

/* 3/4 x 3/4 of pixel (0, 0), 3/4 x 1/4 of its neighbours (0, 1) and
 * (1, 0), 1/4 x 1/4 of (1, 1); on floats or, lane by lane, vectors */
#define BLEND(p00, p01, p10, p11) \
  (0.5625f * (p00) + 0.1875f * ((p01) + (p10)) + 0.0625f * (p11))

static inline float
blend (const float *r0, const float *r1, int x0, int x1)
{
  return BLEND (r0[x0], r0[x1], r1[x0], r1[x1]);
}

/* Pairs of output columns from ox (even, >= 2) on, 16 at a time, while they
 * stay off the last one's border; returns where it stopped.  BLEND lane by
 * lane, and -std=c11 contracts nothing: blend's bits.  (The decoder's
 * convolutions call the row function for every span of rows their tiles
 * read: 15 -> 9 ms CPU for dec2 at 1 MP; GCC's 16-float vectors without
 * AVX-512 were 3x slower than 4-float ones.) */
#if defined __x86_64__ && defined __GNUC__ && !defined __clang__
__attribute__ ((target ("avx512f"))) static int
pairs16_avx512 (float *dst, const float *r0, const float *r1, int ox, int x1, int w)
{
  for (; ox + 32 <= x1 && ox / 2 + 16 < w; ox += 32)
    {
      const int i = ox / 2;
      const v16 a = LOAD (v16u, r0 + i), b = LOAD (v16u, r1 + i);
      const v16 even = BLEND (a, LOAD (v16u, r0 + i - 1), b, LOAD (v16u, r1 + i - 1));
      const v16 odd = BLEND (a, LOAD (v16u, r0 + i + 1), b, LOAD (v16u, r1 + i + 1));
      const v16i lo = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 };
      const v16i hi = { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
      *(v16u *) (dst + ox) = __builtin_shuffle (even, odd, lo);
      *(v16u *) (dst + ox + 16) = __builtin_shuffle (even, odd, hi);
    }
  return ox;
}

static inline int
pairs16 (float *dst, const float *r0, const float *r1, int ox, int x1, int w)
{
  return __builtin_cpu_supports ("avx512f") ? pairs16_avx512 (dst, r0, r1, ox, x1, w) : ox;
}
#else
static inline int
pairs16 (float *dst, const float *r0, const float *r1, int ox, int x1, int w)
{
  (void) dst; (void) r0; (void) r1; (void) x1; (void) w;
  return ox;
}
#endif

void
ns_upsample2x_bilinear_row (float *dst, const float *in, int h, int w, int oy, int x0,
                            int x1)
{
  const float *r0 = in + (size_t) (oy / 2) * w;
  const float *r1 = in + (size_t) neighbour (oy / 2, oy & 1, h) * w;
  dst -= x0;
  /* the border columns (and an odd start) through neighbour (), the rest
   * in pairs without */
  int ox = x0;
  for (; ox < x1 && (ox < 2 || ox & 1); ox++)
    dst[ox] = blend (r0, r1, ox / 2, neighbour (ox / 2, ox & 1, w));
  /* 16 (where the CPU has AVX-512), then 4 pairs at a time: blend's bits */
  ox = pairs16 (dst, r0, r1, ox, x1, w);
  for (; ox + 8 <= x1 && ox / 2 + 4 < w; ox += 8)
    {
      const int i = ox / 2;
      const v4 a = LOAD (v4u, r0 + i), b = LOAD (v4u, r1 + i);
      const v4 even = BLEND (a, LOAD (v4u, r0 + i - 1), b, LOAD (v4u, r1 + i - 1));
      const v4 odd = BLEND (a, LOAD (v4u, r0 + i + 1), b, LOAD (v4u, r1 + i + 1));
      const v4i lo = { 0, 4, 1, 5 }, hi = { 2, 6, 3, 7 };
      *(v4u *) (dst + ox) = __builtin_shuffle (even, odd, lo);
      *(v4u *) (dst + ox + 4) = __builtin_shuffle (even, odd, hi);
    }
  for (; ox + 1 < x1 && ox < 2 * w - 2; ox += 2)
    {
      const int i = ox / 2;
      dst[ox] = blend (r0, r1, i, i - 1);
      dst[ox + 1] = blend (r0, r1, i, i + 1);
    }
  for (; ox < x1; ox++)
    dst[ox] = blend (r0, r1, ox / 2, neighbour (ox / 2, ox & 1, w));
}

static void
forward_plane (gpointer data, int plane, int thread)
{
  const Job *j = data;
  const int h = j->h, w = j->w, ow = 2 * w;
  const float *src = j->in + (size_t) plane * h * w;
  float *dst = j->out + (size_t) plane * 4 * h * w;
  (void) thread;
  for (int oy = 0; oy < 2 * h; oy++)
    ns_upsample2x_bilinear_row (dst + (size_t) oy * ow, src, h, w, oy, 0, ow);
}

void
ns_upsample2x_bilinear_forward (float *out, const float *in, int n, int c, int h, int w)
{
  Job job = { out, in, h, w };
  run_planes (forward_plane, &job, n * c);
}

/* input columns per pass of backward_plane */
#define BACKWARD_CHUNK 512

/* The adjoint, separable: output rows 2i and 2i+1 read input row i with
 * 3/4, rows 2i-1 and 2i+2 with 1/4 (or, at a border, the row itself);
 * columns likewise.  So each input row gathers its four output rows into
 * v (a pass on contiguous vectors), then v's columns; adding each output
 * pixel's four products into the input one by one was ~2 % of a training
 * step. */
static void
backward_plane (gpointer data, int plane, int thread)
{
  const Job *j = data;
  const int h = j->h, w = j->w, ow = 2 * w;
  float *dst = j->out + (size_t) plane * h * w;
  const float *src = j->in + (size_t) plane * 4 * h * w;
  float v[2 * BACKWARD_CHUNK + 2];   /* output columns from 2 x0 - 1 */
  (void) thread;
  for (int i = 0; i < h; i++)
    {
      const float *a = src + (size_t) 2 * i * ow, *b = a + ow;
      const float *above = i > 0 ? a - ow : a, *below = i + 1 < h ? b + ow : b;
      float *row = dst + (size_t) i * w;
      for (int x0 = 0; x0 < w; x0 += BACKWARD_CHUNK)
        {
          const int x1 = MIN (w, x0 + BACKWARD_CHUNK), c0 = 2 * x0 - 1;
          for (int ox = MAX (0, c0); ox < MIN (ow, 2 * x1 + 1); ox++)
            v[ox - c0] = 0.75f * (a[ox] + b[ox]) + 0.25f * (above[ox] + below[ox]);
          for (int x = x0; x < x1; x++)
            {
              const float *c = v + 2 * (x - x0) + 1;   /* output column 2x */
              const float left = x > 0 ? c[-1] : c[0], right = x + 1 < w ? c[2] : c[1];
              row[x] += 0.75f * (c[0] + c[1]) + 0.25f * (left + right);
            }
        }
    }
}

/* the adjoint: each output gradient goes back to the four pixels it read,
 * with the same weights; each plane by one task */
void
ns_upsample2x_bilinear_backward (float *din, const float *dout, int n, int c, int h, int w)
{
  if (!din)
    return;
  Job job = { din, dout, h, w };
  run_planes (backward_plane, &job, n * c);
}
