/* 2-D convolution: Winograd F(4,3) (conv2d_winograd.c) or direct kernels
 * (conv2d_direct.c, see the second half and docs/conv-kernels.md) for the
 * shapes where they are faster, else im2col + cblas_sgemm.
 *
 * The im2col matrix of one image is [in_c*k*k][out_h*out_w].  Rather than
 * building it whole (576 x 16.7M floats for a 64-channel 4096^2 image), each
 * image is processed in bands of output rows whose columns fit a few MiB:
 * the band stays in cache between im2col and the GEMM, and the workspace
 * stays small whatever the image size.  A 1x1 stride-1 convolution needs no
 * im2col at all: the image itself is the [in_c][h*w] matrix. */
#include "ns_ops.h"
#include "plane_sum.h"
#include <cblas.h>
#include <string.h>

/* Target size of one band of im2col columns, in floats (4 MiB): small
 * enough to stay in cache between im2col and the GEMM.  Measured on the
 * 64->64 3x3 256^2 layer (one thread, CPU time): bands of 2^17..2^20 floats
 * all run the forward at ~94 GFLOP/s, 2^21 and up (or the whole image)
 * fall to 71-81 as the columns spill to memory. */
#define BAND_FLOATS (1u << 20)

static inline gboolean
is_pointwise (const NsConv2dShape *s)
{
  return s->k == 1 && s->stride == 1;
}

static inline int
col_rows (const NsConv2dShape *s)
{
  return s->in_c * s->k * s->k;
}

/* output rows per band */
static int
band_rows (const NsConv2dShape *s)
{
  size_t per_row = (size_t) col_rows (s) * s->out_w;
  size_t rows = BAND_FLOATS / per_row;
  if (rows < 1)
    rows = 1;
  return rows < (size_t) s->out_h ? (int) rows : s->out_h;
}

void
ns_conv2d_shape (NsConv2dShape *s, int n, int in_c, int h, int w,
                 int out_c, int k, int stride, NsPad pad)
{
  int p = k / 2;
  *s = (NsConv2dShape) {
    .n = n, .in_c = in_c, .h = h, .w = w,
    .out_c = out_c, .k = k, .stride = stride, .pad = pad,
    .out_h = (h + 2 * p - k) / stride + 1,
    .out_w = (w + 2 * p - k) / stride + 1,
  };
}

static size_t
im2col_workspace (const NsConv2dShape *s)
{
  if (is_pointwise (s))
    return 0;
  return (size_t) col_rows (s) * band_rows (s) * s->out_w;
}

/* Image index of padded coordinate i, or -1 where zero padding applies. */
static inline int
source_index (int i, int n, NsPad pad)
{
  if (i >= 0 && i < n)
    return i;
  return pad == NS_PAD_ZERO ? -1 : ns_reflect_index (i, n);
}

/* smallest o >= 0 with o*stride + offset >= target */
static inline int
first_output_at (int target, int offset, int stride)
{
  return offset >= target ? 0 : (target - offset + stride - 1) / stride;
}

/* The output columns [*lo, *hi) of kernel column kx read inside the image;
 * the few outside it go through source_index. */
static inline void
interior_columns (const NsConv2dShape *s, int kx, int *lo, int *hi)
{
  int offset = kx - s->k / 2;
  *lo = MIN (first_output_at (0, offset, s->stride), s->out_w);
  *hi = MIN (first_output_at (s->w, offset, s->stride), s->out_w);
}

/* col[(c*k + ky)*k + kx][(oy - y0)*out_w + ox] = img[c][iy][ix] for the
 * output rows [y0, y1). */
static void
im2col_band (float *col, const float *img, const NsConv2dShape *s, int y0, int y1)
{
  const int k = s->k, st = s->stride, p = k / 2, ow = s->out_w;
  const size_t band_n = (size_t) (y1 - y0) * ow;

  for (int c = 0; c < s->in_c; c++)
    {
      const float *plane = img + (size_t) c * s->h * s->w;
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          {
            float *row = col + ((size_t) (c * k + ky) * k + kx) * band_n;
            int lo, hi;
            interior_columns (s, kx, &lo, &hi);
            for (int oy = y0; oy < y1; oy++)
              {
                float *dst = row + (size_t) (oy - y0) * ow;
                int iy = source_index (oy * st - p + ky, s->h, s->pad);
                if (iy < 0)
                  {
                    memset (dst, 0, sizeof (float) * ow);
                    continue;
                  }
                const float *src = plane + (size_t) iy * s->w;
                for (int ox = 0; ox < lo; ox++)
                  {
                    int ix = source_index (ox * st - p + kx, s->w, s->pad);
                    dst[ox] = ix < 0 ? 0.0f : src[ix];
                  }
                if (st == 1 && hi > lo)
                  memcpy (dst + lo, src + lo - p + kx, sizeof (float) * (hi - lo));
                else /* (empty when hi <= lo) */
                  for (int ox = lo; ox < hi; ox++)
                    dst[ox] = src[ox * st - p + kx];
                for (int ox = hi; ox < ow; ox++)
                  {
                    int ix = source_index (ox * st - p + kx, s->w, s->pad);
                    dst[ox] = ix < 0 ? 0.0f : src[ix];
                  }
              }
          }
    }
}

/* dst[ix] += src[ox] for the columns of kernel column kx outside
 * [skip_lo, skip_hi), where ix = ox st - p + kx (mirrored for reflection) */
static inline void
col2im_row_add (float *dst, const float *src, const NsConv2dShape *s, int kx,
                int skip_lo, int skip_hi)
{
  const int st = s->stride, p = s->k / 2, ow = s->out_w;
  int lo, hi;
  interior_columns (s, kx, &lo, &hi);
  for (int ox = 0; ox < ow; ox++)
    {
      if (ox == skip_lo)
        ox = MAX (ox, skip_hi);
      if (ox >= ow)
        break;
      if (ox >= lo && ox < hi)
        {
          dst[ox * st - p + kx] += src[ox];
          continue;
        }
      int ix = source_index (ox * st - p + kx, s->w, s->pad);
      if (ix >= 0)
        dst[ix] += src[ox];
    }
}

/* The adjoint of im2col_band: adds every column entry back into the pixel it
 * was read from (for reflection, the mirrored source pixel). */
static void
col2im_band_add (float *img, const float *col, const NsConv2dShape *s, int y0, int y1)
{
  const int k = s->k, st = s->stride, p = k / 2, ow = s->out_w;
  const size_t band_n = (size_t) (y1 - y0) * ow;
  /* 3x3 stride 2: where all three columns lie inside, output ox adds to
   * 2ox - 1, 2ox and 2ox + 1, so pixel 2ox + 1 takes kx = 2 of ox and kx = 0
   * of ox + 1: pairs of pixels in one pass on unit strides, instead of
   * three strided passes (~1.5 % of a training step) */
  int in_lo = 0, in_hi = 0;
  if (k == 3 && st == 2)
    for (int kx = 0; kx < 3; kx++)
      {
        int lo, hi;
        interior_columns (s, kx, &lo, &hi);
        in_lo = kx ? MAX (in_lo, lo) : lo;
        in_hi = kx ? MIN (in_hi, hi) : hi;
      }
  in_hi = MAX (in_lo, in_hi);

  for (int c = 0; c < s->in_c; c++)
    {
      float *plane = img + (size_t) c * s->h * s->w;
      for (int ky = 0; ky < k; ky++)
        for (int oy = y0; oy < y1; oy++)
          {
            int iy = source_index (oy * st - p + ky, s->h, s->pad);
            if (iy < 0)
              continue;
            float *dst = plane + (size_t) iy * s->w;
            const float *src = col + ((size_t) (c * k + ky) * k) * band_n
                               + (size_t) (oy - y0) * ow;
            for (int kx = 0; kx < k; kx++)
              col2im_row_add (dst, src + kx * band_n, s, kx, in_lo, in_hi);
            if (in_hi > in_lo)
              {
                const float *s0 = src, *s1 = src + band_n, *s2 = src + 2 * band_n;
                float *d = dst + 2 * in_lo - 1;
                d[0] += s0[in_lo];
                for (int ox = in_lo; ox < in_hi - 1; ox++)
                  {
                    d[2 * (ox - in_lo) + 1] += s1[ox];
                    d[2 * (ox - in_lo) + 2] += s2[ox] + s0[ox + 1];
                  }
                d[2 * (in_hi - 1 - in_lo) + 1] += s1[in_hi - 1];
                d[2 * (in_hi - 1 - in_lo) + 2] += s2[in_hi - 1];
              }
          }
    }
}

static void
im2col_forward (float *out, const float *in, const float *w,
                const float *b, const NsConv2dShape *s, float *ws)
{
  const int K = col_rows (s), ohw = s->out_h * s->out_w;
  const size_t in_size = (size_t) s->in_c * s->h * s->w;
  const size_t out_size = (size_t) s->out_c * ohw;

  for (int i = 0; i < s->n; i++)
    {
      const float *in_i = in + i * in_size;
      float *out_i = out + i * out_size;
      /* the GEMM adds onto the bias (beta = 1) instead of a second pass */
      if (b)
        for (int oc = 0; oc < s->out_c; oc++)
          for (int j = 0; j < ohw; j++)
            out_i[(size_t) oc * ohw + j] = b[oc];
      const float beta = b ? 1.0f : 0.0f;

      if (is_pointwise (s))
        {
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                       s->out_c, ohw, K, 1.0f, w, K, in_i, ohw,
                       beta, out_i, ohw);
          continue;
        }
      const int rows = band_rows (s);
      for (int y0 = 0; y0 < s->out_h; y0 += rows)
        {
          int y1 = MIN (y0 + rows, s->out_h), band_n = (y1 - y0) * s->out_w;
          im2col_band (ws, in_i, s, y0, y1);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                       s->out_c, band_n, K, 1.0f, w, K, ws, band_n,
                       beta, out_i + (size_t) y0 * s->out_w, ohw);
        }
    }
}

static void
im2col_backward (float *din, float *dw, float *db, const float *dout,
                 const float *in, const float *w,
                 const NsConv2dShape *s, float *ws)
{
  const int K = col_rows (s), ohw = s->out_h * s->out_w;
  const size_t in_size = (size_t) s->in_c * s->h * s->w;
  const size_t out_size = (size_t) s->out_c * ohw;

  for (int i = 0; i < s->n; i++)
    {
      const float *in_i = in + i * in_size;
      const float *dout_i = dout + i * out_size;

      if (db)
        for (int oc = 0; oc < s->out_c; oc++)
          db[oc] += (float) ns_plane_sum (dout_i + (size_t) oc * ohw, ohw);

      if (is_pointwise (s))
        {
          /* dW += dout x in^T ; din += W^T x dout */
          if (dw)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                         s->out_c, K, ohw, 1.0f, dout_i, ohw, in_i, ohw,
                         1.0f, dw, K);
          if (din)
            cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                         K, ohw, s->out_c, 1.0f, w, K, dout_i, ohw,
                         1.0f, din + i * in_size, ohw);
          continue;
        }

      const int rows = band_rows (s);
      for (int y0 = 0; y0 < s->out_h; y0 += rows)
        {
          int y1 = MIN (y0 + rows, s->out_h), band_n = (y1 - y0) * s->out_w;
          const float *dout_band = dout_i + (size_t) y0 * s->out_w;
          if (dw)
            {
              /* dW += dout_band x col_band^T */
              im2col_band (ws, in_i, s, y0, y1);
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                           s->out_c, K, band_n, 1.0f, dout_band, ohw, ws, band_n,
                           1.0f, dw, K);
            }
          if (din)
            {
              /* dcol = W^T x dout_band, reusing the column buffer */
              cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans,
                           K, band_n, s->out_c, 1.0f, w, K, dout_band, ohw,
                           0.0f, ws, band_n);
              col2im_band_add (din + i * in_size, ws, s, y0, y1);
            }
        }
    }
}

/* ---- direct kernels --------------------------------------------------------
 *
 * For few channels (the generator's full-resolution layers: 3 -> 16 9x9,
 * 16 -> 32 stride 2, 32 -> 16, 16 -> 3) the GEMM has 3..32 rows over a huge
 * im2col matrix and runs far below the BLAS's peak; conv2d_direct.c's
 * kernels read a padded band of the input instead.  Each image is cut into
 * bands of output rows, run as tasks on every core; a task pads its band
 * into its own part of the workspace.  Every output value is computed by one
 * task in a fixed order, so results do not depend on the thread count; the
 * weight gradient's per-band partial sums are added in band order. */

#include "conv2d_direct.h"
#include "conv2d_winograd.h"
#include "tasks.h"

/* Target floats of one task's padded input band (256 KiB): it is re-read
 * for every output-channel block and tap, so it should stay in L2. */
#define DIRECT_BAND_FLOATS (1u << 16)
/* Bands whose weight-gradient partials are kept before they are added in
 * order (a fixed number, so the sums do not depend on the thread count). */
#define DW_SLOTS 8
#define MAX_THREADS 8
/* bands per conv at least, so that every core has several to take */
#define MIN_TASKS 16

/* The kernels in use: an instruction set's direct and Winograd tables (both
 * NULL: im2col + BLAS everywhere) and where Winograd runs. */
typedef enum { WINOGRAD_NEVER, WINOGRAD_WHERE_FASTER, WINOGRAD_ALWAYS } WinogradUse;
typedef struct
{
  const NsConvDirectKernels   *direct;
  const NsConvWinogradKernels *winograd;
  WinogradUse                  use;
  const char                  *name;   /* interned */
} Kernels;

static Kernels kernels;
static gsize kernels_chosen;

static const char *const isa_names[] = { "portable", "avx2", "avx512" };

/* "ISA" (Winograd where it is faster), "ISA-direct" (never), "ISA-winograd"
 * (every 3x3 stride-1 conv), "direct" and "winograd" (the best ISA), or
 * "im2col" */
static gboolean
kernels_by_name (const char *name, Kernels *k)
{
  *k = (Kernels) { .name = g_intern_string (name) };
  if (g_strcmp0 (name, "im2col") == 0)
    return TRUE;
  const char *dash = strchr (name, '-');
  g_autofree char *isa = g_strndup (name, dash ? (gsize) (dash - name) : strlen (name));
  const char *use = dash ? dash + 1 : "";
  if (g_strcmp0 (isa, "direct") == 0 || g_strcmp0 (isa, "winograd") == 0)
    {
      if (dash)
        return FALSE;
      use = isa;
      for (int i = G_N_ELEMENTS (isa_names) - 1; i >= 0; i--)
        {
          g_autofree char *best = g_strconcat (isa_names[i], "-", use, NULL);
          if (kernels_by_name (best, k))
            return TRUE;
        }
      return FALSE;
    }
  if (g_strcmp0 (use, "") == 0)
    k->use = WINOGRAD_WHERE_FASTER;
  else if (g_strcmp0 (use, "direct") == 0)
    k->use = WINOGRAD_NEVER;
  else if (g_strcmp0 (use, "winograd") == 0)
    k->use = WINOGRAD_ALWAYS;
  else
    return FALSE;
  if (g_strcmp0 (isa, "portable") == 0)
    {
      k->direct = &ns_conv_direct_portable;
      k->winograd = &ns_conv_winograd_portable;
      return TRUE;
    }
#if defined __x86_64__ || defined __i386__
  __builtin_cpu_init ();
  if (g_strcmp0 (isa, "avx2") == 0 && __builtin_cpu_supports ("avx2")
      && __builtin_cpu_supports ("fma"))
    {
      k->direct = &ns_conv_direct_avx2;
      k->winograd = &ns_conv_winograd_avx2;
      return TRUE;
    }
  if (g_strcmp0 (isa, "avx512") == 0 && __builtin_cpu_supports ("avx512f"))
    {
      k->direct = &ns_conv_direct_avx512;
      k->winograd = &ns_conv_winograd_avx512;
      return TRUE;
    }
#endif
  return FALSE;
}

static Kernels
best_kernels (void)
{
  Kernels k;
  for (int i = G_N_ELEMENTS (isa_names) - 1; i >= 0; i--)
    if (kernels_by_name (isa_names[i], &k))
      break;
  return k;
}

static const Kernels *
current_kernels (void)
{
  if (g_once_init_enter (&kernels_chosen))
    {
      const char *env = g_getenv ("NS_CONV_KERNEL");
      Kernels k;
      gboolean known = env && kernels_by_name (env, &k);
      if (env && !known)
        g_warning ("NS_CONV_KERNEL=%s: unknown or not supported by this CPU; "
                   "using the best supported", env);
      kernels = known ? k : best_kernels ();
      g_once_init_leave (&kernels_chosen, 1);
    }
  return &kernels;
}

gboolean
ns_conv2d_set_kernel (const char *name)
{
  Kernels k;
  if (!kernels_by_name (name, &k))
    return FALSE;
  current_kernels ();   /* so the environment cannot override it later */
  kernels = k;
  return TRUE;
}

const char *
ns_conv2d_kernel (void)
{
  return current_kernels ()->name;
}

int
ns_tasks_threads (void)
{
  static gsize once;
  static int n;
  if (g_once_init_enter (&once))
    {
      n = CLAMP ((int) g_get_num_processors (), 1, MAX_THREADS);
      g_once_init_leave (&once, 1);
    }
  return n;
}

/* ---- running tasks on every core ---- */

typedef NsTaskFunc TaskFunc;

typedef struct
{
  TaskFunc func;
  gpointer data;
  int      n_tasks;
  gint     next;
} TaskQueue;

typedef struct
{
  TaskQueue *q;
  int        thread;
} Worker;

static gpointer
work (gpointer p)
{
  Worker *wk = p;
  int t;
  while ((t = g_atomic_int_add (&wk->q->next, 1)) < wk->q->n_tasks)
    wk->q->func (wk->q->data, t, wk->thread);
  return NULL;
}

/* Workers that live as long as the process: starting threads per call
 * cost ~0.3 s of system time per training step (hundreds of convs). */
static struct
{
  GMutex     lock;
  GCond      wake, done;
  TaskQueue *q;
  guint      generation;   /* one per job */
  int        busy;         /* workers not yet through the current job */
  int        n_workers;
} pool;
static GMutex pool_user;   /* one job at a time; other callers run alone */

static gpointer
pool_worker (gpointer data)
{
  Worker wk = { NULL, GPOINTER_TO_INT (data) };
  guint seen = 0;
  g_mutex_lock (&pool.lock);
  for (;;)
    {
      while (pool.generation == seen)
        g_cond_wait (&pool.wake, &pool.lock);
      seen = pool.generation;
      wk.q = pool.q;
      g_mutex_unlock (&pool.lock);
      work (&wk);
      g_mutex_lock (&pool.lock);
      if (--pool.busy == 0)
        g_cond_signal (&pool.done);
    }
  return NULL;
}

static int
pool_workers (void)
{
  static gsize once;
  if (g_once_init_enter (&once))
    {
      for (int i = 1; i < ns_tasks_threads (); i++)
        {
          GThread *t = g_thread_try_new ("ns-conv", pool_worker, GINT_TO_POINTER (i), NULL);
          if (!t)
            break;
          g_thread_unref (t);
          pool.n_workers++;
        }
      g_once_init_leave (&once, 1);
    }
  return pool.n_workers;
}

/* func (data, task, thread) for every task in [0, n_tasks); `thread` in
 * [0, ns_tasks_threads ()) names the caller's private workspace. */
void
ns_tasks_run (int n_tasks, TaskFunc func, gpointer data)
{
  TaskQueue q = { func, data, n_tasks, 0 };
  Worker self = { &q, 0 };
  if (n_tasks < 2 || pool_workers () == 0 || !g_mutex_trylock (&pool_user))
    {
      work (&self);
      return;
    }
  g_mutex_lock (&pool.lock);
  pool.q = &q;
  pool.busy = pool.n_workers;
  pool.generation++;
  g_cond_broadcast (&pool.wake);
  g_mutex_unlock (&pool.lock);
  work (&self);
  g_mutex_lock (&pool.lock);
  while (pool.busy > 0)
    g_cond_wait (&pool.done, &pool.lock);
  g_mutex_unlock (&pool.lock);
  g_mutex_unlock (&pool_user);
}

/* ---- the plan: band sizes and workspace layout ---- */

static inline int
round_up (int x, int m)
{
  return (x + m - 1) / m * m;
}

/* A padded band of `rows_in` rows of a [c][h][w] image padded by `pad`,
 * stride phases of `pitch` floats each. */
typedef struct
{
  int c, pad, stride, pitch, rows_in;
} PadBand;

static inline size_t
pad_band_len (const PadBand *b)
{
  return (size_t) b->c * b->rows_in * b->stride * b->pitch;
}

static PadBand
pad_band_for (int c, int w, int pad, int stride, int out_w, int k, int rows)
{
  int phase = (w + 2 * pad + stride - 1) / stride;
  int pitch = MAX (phase, round_up (out_w, 16) + (k - 1) / stride) + NS_CONV_ROW_SLACK;
  return (PadBand) { c, pad, stride, pitch, (rows - 1) * stride + k };
}

/* Output rows per band: the padded band near DIRECT_BAND_FLOATS, and at
 * least MIN_TASKS bands over the batch where the image allows (a constant,
 * not the core count, so that dW's band sums are the same everywhere). */
static int
direct_rows (int c, int w, int pad, int stride, int out_w, int out_h, int k, int n)
{
  PadBand one = pad_band_for (c, w, pad, stride, out_w, k, 1);
  size_t per_row = (size_t) c * stride * one.pitch;
  int rows = (int) MIN ((size_t) out_h, MAX ((size_t) 1, DIRECT_BAND_FLOATS / per_row / stride));
  int spread = (int) (((size_t) out_h * n + MIN_TASKS - 1) / MIN_TASKS);
  return MAX (1, MIN (rows, spread));
}

typedef struct
{
  const NsConvDirectKernels *kern;
  int rows;           /* forward and dW: output rows per band */
  PadBand in_band;    /* the input, padded by k/2 */
  int ocp;            /* forward weights' channels */
  gboolean dw;        /* dW by the direct kernels */
  gboolean din;       /* din by the direct kernels (stride 1) */
  int din_rows;       /* rows of d(padded input) per band */
  PadBand dout_band;  /* dout zero-padded by k - 1 */
  int icp;            /* transposed weights' channels */
  int pw;             /* w + 2 pad: the padded input's width */
} DirectPlan;

/* By measurement (bench-generator, docs/conv-kernels.md): the direct
 * forward and din beat im2col + BLAS on the generator's layers up to 64
 * channels; the direct dW only at stride 1 and up to 32 channels (at 64,
 * and for enc2's stride 2, the BLAS reaches ~2x). */
static gboolean
direct_plan_with (const NsConvDirectKernels *kern, const NsConv2dShape *s, DirectPlan *p)
{
  if (!kern || is_pointwise (s) || s->in_c > 64 || s->out_c > 64)
    return FALSE;
  p->dw = s->in_c <= 32 && s->out_c <= 32;
  const int k = s->k, pad = k / 2;
  p->kern = kern;
  p->rows = direct_rows (s->in_c, s->w, pad, s->stride, s->out_w, s->out_h, k, s->n);
  p->in_band = pad_band_for (s->in_c, s->w, pad, s->stride, s->out_w, k, p->rows);
  p->ocp = round_up (s->out_c, kern->oc_block (s->out_c));
  p->pw = s->w + 2 * pad;
  p->din = s->stride == 1;
  if (p->din)
    {
      p->din_rows = direct_rows (s->out_c, s->out_w, k - 1, 1, p->pw, s->h + 2 * pad, k, s->n);
      p->dout_band = pad_band_for (s->out_c, s->out_w, k - 1, 1, p->pw, k, p->din_rows);
      p->icp = round_up (s->in_c, kern->oc_block (s->in_c));
    }
  return TRUE;
}

static gboolean
direct_plan (const NsConv2dShape *s, DirectPlan *p)
{
  return direct_plan_with (current_kernels ()->direct, s, p);
}

static inline size_t
w_len (const NsConv2dShape *s)
{
  return (size_t) s->out_c * col_rows (s);
}

/* Workspace layout, in floats from ws (each part 16-float aligned):
 * forward:  weights [ocp * K] | T x input band
 * backward: DW_SLOTS x dw | T x input band | weights^T [icp * out_c k k] |
 *           T x (dout band + din band [in_c][din_rows][pw]) |
 *           edge rows [in_c][2 pad][pw] */
static size_t
direct_forward_len (const NsConv2dShape *s, const DirectPlan *p)
{
  return round_up ((size_t) p->ocp * col_rows (s), 16)
         + ns_tasks_threads () * round_up (pad_band_len (&p->in_band), 16);
}

/* the dW part: slots and the input bands (none when im2col does dW) */
static size_t
direct_dw_len (const NsConv2dShape *s, const DirectPlan *p)
{
  if (!p->dw)
    return 0;
  return DW_SLOTS * round_up (w_len (s), 16)
         + ns_tasks_threads () * round_up (pad_band_len (&p->in_band), 16);
}

static size_t
direct_backward_len (const NsConv2dShape *s, const DirectPlan *p)
{
  size_t len = direct_dw_len (s, p);
  if (p->din)
    len += round_up ((size_t) p->icp * s->out_c * s->k * s->k, 16)
           + ns_tasks_threads () * (round_up (pad_band_len (&p->dout_band), 16)
                             + round_up ((size_t) s->in_c * p->din_rows * p->pw, 16))
           + round_up ((size_t) s->in_c * 2 * (s->k / 2) * p->pw, 16);
  return len;
}

static gboolean
winograd_shape (const NsConv2dShape *s)
{
  return s->k == 3 && s->stride == 1;
}

/* By measurement (bench-generator, docs/conv-kernels.md): Winograd beats
 * the direct kernels from 16 channels in and out. */
static gboolean
winograd_faster (const NsConv2dShape *s)
{
  return s->in_c >= 16 && s->out_c >= 16;
}

/* the Winograd kernels where they run for s, else NULL */
static const NsConvWinogradKernels *
winograd_for (const NsConv2dShape *s)
{
  const Kernels *k = current_kernels ();
  if (!k->winograd || !winograd_shape (s) || k->use == WINOGRAD_NEVER)
    return NULL;
  return k->use == WINOGRAD_ALWAYS || winograd_faster (s) ? k->winograd : NULL;
}

/* Enough for any kernel this CPU runs, so switching kernels after a plan
 * stays safe. */
size_t
ns_conv2d_workspace (const NsConv2dShape *s)
{
  size_t len = im2col_workspace (s);
  for (guint i = 0; i < G_N_ELEMENTS (isa_names); i++)
    {
      Kernels k;
      DirectPlan p;
      if (!kernels_by_name (isa_names[i], &k))
        continue;
      if (direct_plan_with (k.direct, s, &p))
        len = MAX (len, MAX (direct_forward_len (s, &p), direct_backward_len (s, &p)));
      if (winograd_shape (s))
        len = MAX (len, k.winograd->workspace (s));
    }
  return len;
}

/* column ix of an image row, padded by mode */
static inline float
padded_at (const float *row, int ix, int w, NsPad mode)
{
  int i = source_index (ix, w, mode);
  return i < 0 ? 0.0f : row[i];
}

/* Padded rows [py0, py0 + b->rows_in) of img [c][h][w] into dst, phase f
 * of a row holding its columns f, f + stride, ...; zeros past the image's
 * padded extent and in the slack. */
static void
pad_band (float *dst, const float *img, int h, int w, NsPad mode, const PadBand *b, int py0)
{
  const int pad = b->pad, st = b->stride, pw = w + 2 * pad;
  const size_t row_len = (size_t) st * b->pitch;
  for (int c = 0; c < b->c; c++)
    for (int r = 0; r < b->rows_in; r++)
      {
        float *row = dst + ((size_t) c * b->rows_in + r) * row_len;
        int py = py0 + r;
        int iy = py < h + 2 * pad ? source_index (py - pad, h, mode) : -1;
        if (iy < 0)
          {
            memset (row, 0, sizeof (float) * row_len);
            continue;
          }
        const float *src = img + ((size_t) c * h + iy) * w;
        if (st == 1)
          {
            for (int px = 0; px < MIN (pad, pw); px++)
              {
                int ix = source_index (px - pad, w, mode);
                row[px] = ix < 0 ? 0.0f : src[ix];
              }
            memcpy (row + pad, src, sizeof (float) * w);
            for (int px = pad + w; px < pw; px++)
              {
                int ix = source_index (px - pad, w, mode);
                row[px] = ix < 0 ? 0.0f : src[ix];
              }
            memset (row + pw, 0, sizeof (float) * (b->pitch - pw));
            continue;
          }
        for (int f = 0; f < st; f++)
          {
            float *ph = row + (size_t) f * b->pitch;
            /* ph[j] is padded column f + st j: the border ones through
             * source_index, the run [lo, hi) inside the image as a copy
             * of every st-th float (st = 2: vectorised) */
            const int n = (pw - f + st - 1) / st;
            const int lo = MIN (n, (MAX (pad - f, 0) + st - 1) / st);
            const int hi = MAX (lo, MIN (n, (w + pad - f + st - 1) / st));
            for (int j = 0; j < lo; j++)
              ph[j] = padded_at (src, f + st * j - pad, w, mode);
            if (st == 2)
              for (int j = lo; j < hi; j++)
                ph[j] = src[f - pad + 2 * j];
            else
              for (int j = lo; j < hi; j++)
                ph[j] = src[f - pad + st * j];
            for (int j = hi; j < n; j++)
              ph[j] = padded_at (src, f + st * j - pad, w, mode);
            memset (ph + n, 0, sizeof (float) * (b->pitch - n));
          }
      }
}

typedef struct
{
  const NsConv2dShape *s;
  const DirectPlan *p;
  int bands, din_bands;
  const float *in, *w, *b, *dout;
  float *out, *din, *ws, *wt, *slots, *edges;
  int first_task;   /* dW: the group's first task */
  size_t thread_len, din_thread_len;
  float *din_ws;
} DirectJob;

static void
forward_task (gpointer data, int task, int thread)
{
  const DirectJob *j = data;
  const NsConv2dShape *s = j->s;
  const DirectPlan *p = j->p;
  const int i = task / j->bands, y0 = (task % j->bands) * p->rows;
  const int rows = MIN (p->rows, s->out_h - y0);
  float *band = j->ws + thread * j->thread_len;
  pad_band (band, j->in + (size_t) i * s->in_c * s->h * s->w, s->h, s->w, s->pad,
            &p->in_band, y0 * s->stride);
  NsConvDirectArgs a = {
    .in = band, .in_plane = (size_t) p->in_band.rows_in * s->stride * p->in_band.pitch,
    .in_row = s->stride * p->in_band.pitch, .pitch = p->in_band.pitch,
    .out = j->out + ((size_t) i * s->out_c * s->out_h + y0) * s->out_w,
    .out_plane = (size_t) s->out_h * s->out_w, .out_row = s->out_w,
    .in_c = s->in_c, .out_c = s->out_c, .k = s->k, .stride = s->stride,
    .out_w = s->out_w, .rows = rows, .w = j->wt, .ocp = p->ocp, .bias = j->b,
  };
  p->kern->forward (&a);
}

static void
direct_forward (float *out, const float *in, const float *w, const float *b,
                const NsConv2dShape *s, const DirectPlan *p, float *ws)
{
  /* weights as [in_c][k][k][ocp], zeros in the padding channels */
  const int K = col_rows (s);
  float *wt = ws;
  memset (wt, 0, sizeof (float) * p->ocp * K);
  for (int oc = 0; oc < s->out_c; oc++)
    for (int t = 0; t < K; t++)
      wt[(size_t) t * p->ocp + oc] = w[(size_t) oc * K + t];
  DirectJob j = { .s = s, .p = p, .bands = (s->out_h + p->rows - 1) / p->rows,
                  .in = in, .b = b, .out = out, .wt = wt,
                  .ws = ws + round_up ((size_t) p->ocp * K, 16),
                  .thread_len = round_up (pad_band_len (&p->in_band), 16) };
  ns_tasks_run (s->n * j.bands, forward_task, &j);
}

/* dW partials of one band into its slot */
static void
weight_grad_task (gpointer data, int task, int thread)
{
  const DirectJob *j = data;
  const NsConv2dShape *s = j->s;
  const DirectPlan *p = j->p;
  const int t = j->first_task + task, i = t / j->bands, y0 = (t % j->bands) * p->rows;
  const int rows = MIN (p->rows, s->out_h - y0);
  float *band = j->ws + thread * j->thread_len;
  float *slot = j->slots + task * round_up (w_len (s), 16);
  memset (slot, 0, sizeof (float) * w_len (s));
  pad_band (band, j->in + (size_t) i * s->in_c * s->h * s->w, s->h, s->w, s->pad,
            &p->in_band, y0 * s->stride);
  NsConvDirectArgs a = {
    .in = band, .in_plane = (size_t) p->in_band.rows_in * s->stride * p->in_band.pitch,
    .in_row = s->stride * p->in_band.pitch, .pitch = p->in_band.pitch,
    .out = (float *) j->dout + ((size_t) i * s->out_c * s->out_h + y0) * s->out_w,
    .out_plane = (size_t) s->out_h * s->out_w, .out_row = s->out_w,
    .in_c = s->in_c, .out_c = s->out_c, .k = s->k, .stride = s->stride,
    .out_w = s->out_w, .rows = rows,
  };
  p->kern->weight_grad (slot, &a);
}

/* d(padded input) rows of one band by the forward kernel on dout padded by
 * k - 1 with the flipped, transposed weights; folded into din (interior rows)
 * or into the edge rows, which run_direct_din folds after the tasks. */
static void
din_task (gpointer data, int task, int thread)
{
  const DirectJob *j = data;
  const NsConv2dShape *s = j->s;
  const DirectPlan *p = j->p;
  const int i = task / j->din_bands, py0 = (task % j->din_bands) * p->din_rows;
  const int pad = s->k / 2, ph = s->h + 2 * pad, pw = p->pw;
  const int rows = MIN (p->din_rows, ph - py0);
  float *band = j->din_ws + thread * j->din_thread_len;
  float *dpad = band + round_up (pad_band_len (&p->dout_band), 16);
  const size_t ohw = (size_t) s->out_h * s->out_w;
  pad_band (band, j->dout + (size_t) i * s->out_c * ohw, s->out_h, s->out_w,
            NS_PAD_ZERO, &p->dout_band, py0);
  NsConvDirectArgs a = {
    .in = band, .in_plane = (size_t) p->dout_band.rows_in * p->dout_band.pitch,
    .in_row = p->dout_band.pitch, .pitch = p->dout_band.pitch,
    .out = dpad, .out_plane = (size_t) p->din_rows * pw, .out_row = pw,
    .in_c = s->out_c, .out_c = s->in_c, .k = s->k, .stride = 1,
    .out_w = pw, .rows = rows, .w = j->wt, .ocp = p->icp, .bias = NULL,
  };
  p->kern->forward (&a);

  float *din_i = j->din + (size_t) i * s->in_c * s->h * s->w;
  for (int c = 0; c < s->in_c; c++)
    for (int r = 0; r < rows; r++)
      {
        const float *src = dpad + (size_t) c * a.out_plane + (size_t) r * pw;
        int py = py0 + r;
        float *dst;
        if (py >= pad && py < pad + s->h)
          dst = din_i + ((size_t) c * s->h + py - pad) * s->w;
        else   /* an edge row: kept whole, folded after the tasks */
          {
            int e = py < pad ? py : py - s->h;
            memcpy (j->edges + ((size_t) c * 2 * pad + e) * pw, src, sizeof (float) * pw);
            continue;
          }
        for (int px = 0; px < pad; px++)
          {
            int ix = source_index (px - pad, s->w, s->pad);
            if (ix >= 0)
              dst[ix] += src[px];
          }
        for (int x = 0; x < s->w; x++)
          dst[x] += src[x + pad];
        for (int px = pad + s->w; px < pw; px++)
          {
            int ix = source_index (px - pad, s->w, s->pad);
            if (ix >= 0)
              dst[ix] += src[px];
          }
      }
}

static void
direct_backward (float *din, float *dw, const float *dout, const float *in,
                 const float *w, const NsConv2dShape *s, const DirectPlan *p,
                 float *ws)
{
  const size_t wl = w_len (s), slot_len = round_up (wl, 16);
  DirectJob j = { .s = s, .p = p, .bands = (s->out_h + p->rows - 1) / p->rows,
                  .in = in, .dout = dout, .din = din, .slots = ws,
                  .ws = ws + DW_SLOTS * slot_len,
                  .thread_len = round_up (pad_band_len (&p->in_band), 16) };
  if (dw)
    {
      const int tasks = s->n * j.bands;
      for (j.first_task = 0; j.first_task < tasks; j.first_task += DW_SLOTS)
        {
          int group = MIN (DW_SLOTS, tasks - j.first_task);
          ns_tasks_run (group, weight_grad_task, &j);
          for (int g = 0; g < group; g++)   /* in band order */
            for (size_t e = 0; e < wl; e++)
              dw[e] += j.slots[g * slot_len + e];
        }
    }
  if (!din)
    return;

  const int k = s->k, pad = k / 2, kk = k * k;
  j.wt = ws + direct_dw_len (s, p);
  /* wt[oc][ky][kx][icp] = w[oc][ic][k-1-ky][k-1-kx] */
  memset (j.wt, 0, sizeof (float) * p->icp * s->out_c * kk);
  for (int oc = 0; oc < s->out_c; oc++)
    for (int ic = 0; ic < s->in_c; ic++)
      for (int t = 0; t < kk; t++)
        j.wt[((size_t) oc * kk + t) * p->icp + ic] = w[((size_t) oc * s->in_c + ic) * kk + kk - 1 - t];
  j.din_ws = j.wt + round_up ((size_t) p->icp * s->out_c * kk, 16);
  j.din_thread_len = round_up (pad_band_len (&p->dout_band), 16)
                     + round_up ((size_t) s->in_c * p->din_rows * p->pw, 16);
  j.edges = j.din_ws + ns_tasks_threads () * j.din_thread_len;
  j.din_bands = (s->h + 2 * pad + p->din_rows - 1) / p->din_rows;
  for (int i = 0; i < s->n; i++)
    {
      /* one image at a time: its edge rows fold into rows other tasks own */
      DirectJob one = j;
      one.dout = dout + (size_t) i * s->out_c * s->out_h * s->out_w;
      one.din = din + (size_t) i * s->in_c * s->h * s->w;
      ns_tasks_run (j.din_bands, din_task, &one);
      for (int c = 0; c < s->in_c; c++)
        for (int e = 0; e < 2 * pad; e++)
          {
            int py = e < pad ? e : e + s->h;
            int iy = source_index (py - pad, s->h, s->pad);
            if (iy < 0)
              continue;
            const float *src = j.edges + ((size_t) c * 2 * pad + e) * p->pw;
            float *dst = one.din + ((size_t) c * s->h + iy) * s->w;
            for (int px = 0; px < p->pw; px++)
              {
                int ix = source_index (px - pad, s->w, s->pad);
                if (ix >= 0)
                  dst[ix] += src[px];
              }
          }
    }
}

/* ---- entry points ---------------------------------------------------------- */

void
ns_conv2d_forward (float *out, const float *in, const float *w,
                   const float *b, const NsConv2dShape *s, float *ws)
{
  const NsConvWinogradKernels *wg = winograd_for (s);
  DirectPlan p;
  if (wg)
    wg->forward (out, in, w, b, s, ws);
  else if (direct_plan (s, &p))
    direct_forward (out, in, w, b, s, &p, ws);
  else
    im2col_forward (out, in, w, b, s, ws);
}

gboolean
ns_conv2d_reads_upsampled (const NsConv2dShape *s)
{
  return winograd_for (s) != NULL && s->h % 2 == 0 && s->w % 2 == 0;
}

void
ns_conv2d_forward_upsampled (float *out, const float *in, NsUpsampleRowFunc up,
                             const float *w, const float *b, const NsConv2dShape *s,
                             float *ws)
{
  g_return_if_fail (ns_conv2d_reads_upsampled (s));
  winograd_for (s)->forward_upsampled (out, in, up, w, b, s, ws);
}

void
ns_conv2d_backward (float *din, float *dw, float *db, const float *dout,
                    const float *in, const float *w,
                    const NsConv2dShape *s, float *ws)
{
  const NsConvWinogradKernels *wg = winograd_for (s);
  DirectPlan p;
  gboolean direct = direct_plan (s, &p);
  float *direct_din = direct && p.din && !wg ? din : NULL;
  float *direct_dw = direct && p.dw && !wg ? dw : NULL;
  if (direct_din || direct_dw)
    direct_backward (direct_din, direct_dw, dout, in, w, s, &p, ws);
  if (wg && din)
    wg->backward_data (din, dout, w, s, ws);
  if (wg && dw)
    wg->backward_weights (dw, dout, in, s, ws);
  /* db, and what the faster kernels do not do, by im2col */
  float *im_din = wg || direct_din ? NULL : din, *im_dw = wg || direct_dw ? NULL : dw;
  if (db || im_din || im_dw)
    im2col_backward (im_din, im_dw, db, dout, in, w, s, ws);
}
