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

static inline float
blend (const float *r0, const float *r1, int x0, int x1)
{
  return 0.5625f * r0[x0] + 0.1875f * (r0[x1] + r1[x0]) + 0.0625f * r1[x1];
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
    {
      const float *r0 = src + (size_t) (oy / 2) * w;
      const float *r1 = src + (size_t) neighbour (oy / 2, oy & 1, h) * w;
      float *row = dst + (size_t) oy * ow;
      /* the border columns through neighbour (), the rest without */
      row[0] = blend (r0, r1, 0, neighbour (0, 0, w));
      row[1] = blend (r0, r1, 0, neighbour (0, 1, w));
      for (int x0 = 1; x0 < w - 1; x0++)
        {
          row[2 * x0] = blend (r0, r1, x0, x0 - 1);
          row[2 * x0 + 1] = blend (r0, r1, x0, x0 + 1);
        }
      if (w > 1)
        {
          row[ow - 2] = blend (r0, r1, w - 1, neighbour (w - 1, 0, w));
          row[ow - 1] = blend (r0, r1, w - 1, neighbour (w - 1, 1, w));
        }
    }
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
