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

typedef float v4 __attribute__ ((vector_size (16)));
typedef float v4u __attribute__ ((vector_size (16), aligned (4)));
typedef int v4i __attribute__ ((vector_size (16)));

static inline v4
load4 (const float *p)
{
  return *(const v4u *) p;
}

static inline float
blend (const float *r0, const float *r1, int x0, int x1)
{
  return 0.5625f * r0[x0] + 0.1875f * (r0[x1] + r1[x0]) + 0.0625f * r1[x1];
}

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
  /* 4 pairs at a time: blend's sums lane by lane, the same bits */
  for (; ox + 8 <= x1 && ox / 2 + 4 < w; ox += 8)
    {
      const int i = ox / 2;
      const v4 a = load4 (r0 + i), b = load4 (r1 + i);
      const v4 even = 0.5625f * a + 0.1875f * (load4 (r0 + i - 1) + b)
                      + 0.0625f * load4 (r1 + i - 1);
      const v4 odd = 0.5625f * a + 0.1875f * (load4 (r0 + i + 1) + b)
                     + 0.0625f * load4 (r1 + i + 1);
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

static void
backward_plane (gpointer data, int plane, int thread)
{
  const Job *j = data;
  const int h = j->h, w = j->w, ow = 2 * w;
  float *dst = j->out + (size_t) plane * h * w;
  const float *src = j->in + (size_t) plane * 4 * h * w;
  (void) thread;
  for (int oy = 0; oy < 2 * h; oy++)
    {
      float *r0 = dst + (size_t) (oy / 2) * w;
      float *r1 = dst + (size_t) neighbour (oy / 2, oy & 1, h) * w;
      const float *row = src + (size_t) oy * ow;
      for (int ox = 0; ox < ow; ox++)
        {
          int x0 = ox / 2, x1 = neighbour (x0, ox & 1, w);
          float g = row[ox];
          r0[x0] += 0.5625f * g;
          r0[x1] += 0.1875f * g;
          r1[x0] += 0.1875f * g;
          r1[x1] += 0.0625f * g;
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
