/* Winograd F(4,3) for 3x3 stride-1 convolutions (Lavin & Gray 2016), one
 * build per instruction set (conv_isa.h); forward, the input gradient (the
 * same convolution of dout with the flipped, transposed weights) and the
 * weight gradient (at the end) side by side.
 *
 * Each image's 4x4 output tiles are numbered row by row and cut into
 * blocks of TILES, one task each.  A task
 *   1. transforms the 6x6 input tile of each of its tiles and channels,
 *      V = B^T d B, into v[36][c][TILES]: each of the 36 positions is a
 *      [c][tiles] matrix.  The input rows are first split into 4 column
 *      phases so that VL neighbouring tiles are VL neighbouring floats;
 *   2. for each block of OCB output channels, multiplies position by
 *      position, m[xi] = U[xi] (OCB x c) x v[xi] (c x TILES), in registers
 *      as the direct kernel does (OCB channels x PX vectors);
 *   3. transforms back, Y = A^T m A, and writes (or adds) the 4x4 outputs.
 * U = G g G^T, the weights' transform, is computed per call into the
 * workspace: 36 x c x out_c floats, ~0.3 % of a 64-channel 250x250 layer's
 * work.  Every output is computed by one task in a fixed order, so the
 * result does not depend on the thread count.
 *
 * Float error: the transforms' constants (up to 8 and 1/6) make F(4,3)'s
 * error ~10x the direct sum's; tests/test-ops.c states the bound. */
#include "conv2d_winograd.h"
#include "conv_isa.h"
#include "tasks.h"
#include <string.h>

#if defined NS_ISA_AVX512
#define OCB 8           /* 8 x 3 accumulators + 3 inputs of 32 registers */
#else
#define OCB 4           /* 4 x 3 + 3 of 16 registers */
#endif
#define PX 3
/* Tiles per block: a multiple of PX * VL on every set (48, 24, 12); the
 * block's 36 x 64 x TILES transformed inputs (442 KiB) stay in L2. */
#define TILES 48
/* row pitch of v and m: slack for a segment's last, partly used vector */
#define TP (TILES + VL)
/* row pitch of the column phases: a vector past the last tile, plus one */
#define QP (TILES + VL + 2)
#define POS 36

/* Lane masks for splitting 4 VL-float vectors into their 4 column phases
 * and back: EVEN/ODD pick lanes 0, 2, 4 ... / 1, 3, 5 ... of two vectors,
 * LO/HI interleave the low / high halves of two vectors. */
typedef int vi __attribute__ ((vector_size (VL * sizeof (int))));
#if VL == 16
#define EVEN { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 }
#define ODD  { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31 }
#define LO   { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 }
#define HI   { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 }
#elif VL == 8
#define EVEN { 0, 2, 4, 6, 8, 10, 12, 14 }
#define ODD  { 1, 3, 5, 7, 9, 11, 13, 15 }
#define LO   { 0, 8, 1, 9, 2, 10, 3, 11 }
#define HI   { 4, 12, 5, 13, 6, 14, 7, 15 }
#else
#define EVEN { 0, 2, 4, 6 }
#define ODD  { 1, 3, 5, 7 }
#define LO   { 0, 4, 1, 5 }
#define HI   { 2, 6, 3, 7 }
#endif

/* p[f][0 .. VL) = src[4 q + f] for q < VL */
ALWAYS_INLINE void
split4 (float *p, int pitch, const float *src)
{
  const vi even = EVEN, odd = ODD;
  vf a = load (src), b = load (src + VL), c = load (src + 2 * VL), d = load (src + 3 * VL);
  vf ab0 = __builtin_shuffle (a, b, even), ab1 = __builtin_shuffle (a, b, odd);
  vf cd0 = __builtin_shuffle (c, d, even), cd1 = __builtin_shuffle (c, d, odd);
  store (p, __builtin_shuffle (ab0, cd0, even));
  store (p + pitch, __builtin_shuffle (ab1, cd1, even));
  store (p + 2 * pitch, __builtin_shuffle (ab0, cd0, odd));
  store (p + 3 * pitch, __builtin_shuffle (ab1, cd1, odd));
}

/* the inverse: o[4 q + f] = x[f][q] */
ALWAYS_INLINE void
merge4 (vf o[4], vf x0, vf x1, vf x2, vf x3)
{
  const vi lo = LO, hi = HI;
  vf a = __builtin_shuffle (x0, x2, lo), b = __builtin_shuffle (x0, x2, hi);
  vf c = __builtin_shuffle (x1, x3, lo), d = __builtin_shuffle (x1, x3, hi);
  o[0] = __builtin_shuffle (a, c, lo);
  o[1] = __builtin_shuffle (a, c, hi);
  o[2] = __builtin_shuffle (b, d, lo);
  o[3] = __builtin_shuffle (b, d, hi);
}

static inline size_t
round16 (size_t n)
{
  return (n + 15) & ~(size_t) 15;
}

static inline int
round_oc (int oc)
{
  return (oc + OCB - 1) / OCB * OCB;
}

/* The convolution a job runs: out[O][oh][ow] (=, or += with add) of
 * in[C][h][w] with pad 1 by `mode`, oh = h, ow = w; with `up`, of the x2
 * upsampling of in[C][h/2][w/2] that `up` computes row by row. */
typedef struct
{
  const float *in, *u, *bias;
  float *out;
  int C, O, h, w, tw, blocks;   /* tw: tiles per row; blocks per image */
  NsPad mode;
  NsUpsampleRowFunc up;
  gboolean add;
  float *ws;
  size_t thread_len;
  /* dW: dout, the parts of dW, the blocks over the batch */
  const float *dout;
  float *parts;
  int all_blocks;
} Job;

static size_t
u_len (int C, int O)
{
  return round16 ((size_t) POS * C * round_oc (O));
}

static size_t
thread_len (int C)
{
  return round16 ((size_t) POS * C * TP) + round16 ((size_t) POS * OCB * TP)
         + round16 ((size_t) 6 * 4 * QP);
}

/* dW: a register block of DW_O output channels x DW_CV vectors of input
 * channels, or twice the channels x half the vectors where the input
 * channels fit in those (dec2's 32 on AVX-512: rounding them up to 64 was
 * half the products on zeros).  Task p of DW_PARTS sums the blocks p,
 * p + DW_PARTS, ... in order and writes its part of dW; the parts are
 * added in order (a fixed number: the same sums on any core count). */
#if defined NS_ISA_AVX512
#define DW_CV 4
#else
#define DW_CV 2
#endif
#define DW_O 4
#define DW_PARTS 4

/* vectors of input channels in a register block for C input channels */
static inline int
dw_cv (int C)
{
  return C <= DW_CV / 2 * VL ? DW_CV / 2 : DW_CV;
}

static inline int
dw_round_c (int C)
{
  const int b = dw_cv (C) * VL;
  return (C + b - 1) / b * b;
}

static inline int
dw_round_o (int O, int C)
{
  const int b = DW_O * DW_CV / dw_cv (C);
  return (O + b - 1) / b * b;
}

static size_t
du_len (int C, int O)
{
  return round16 ((size_t) POS * dw_round_o (O, C) * dw_round_c (C));
}

/* v, its transpose vt [36][TILES][c], dm [36][o][TP], the phases, the
 * task's sums du [36][o][c] */
static size_t
dw_thread_len (int C, int O)
{
  return round16 ((size_t) POS * C * TP) + round16 ((size_t) POS * TILES * dw_round_c (C))
         + round16 ((size_t) POS * dw_round_o (O, C) * TP) + round16 ((size_t) 6 * 4 * QP)
         + du_len (C, O);
}

/* din's border (fold_border below): dout's four edges between zeros,
 * [4][out_c][fold_pitch], and each thread's sums [OCB][fold_pitch].  The
 * pitch holds the longest edge's vectors and the two zeros a tap reads
 * past them. */
static size_t
fold_pitch (const NsConv2dShape *s)
{
  return round16 ((size_t) MAX (s->w + 2, s->h)) + 16;
}

static size_t
fold_len (const NsConv2dShape *s)
{
  return round16 ((size_t) 4 * s->out_c * fold_pitch (s))
         + ns_tasks_threads () * (size_t) OCB * fold_pitch (s);
}

static size_t
workspace (const NsConv2dShape *s)
{
  size_t fwd = u_len (s->in_c, s->out_c) + ns_tasks_threads () * thread_len (s->in_c);
  size_t bwd = u_len (s->out_c, s->in_c)
               + MAX (ns_tasks_threads () * thread_len (s->out_c), fold_len (s));
  size_t dw = DW_PARTS * round16 ((size_t) s->out_c * s->in_c * 9)
              + ns_tasks_threads () * dw_thread_len (s->in_c, s->out_c);
  return MAX (MAX (fwd, bwd), dw);
}

/* ---- transforms ---------------------------------------------------------- */

/* the weights' transform: U = G g Gᵀ */
static const float G[6][3] = {
  { 1.0f / 4, 0, 0 }, { -1.0f / 6, -1.0f / 6, -1.0f / 6 }, { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
  { 1.0f / 24, 1.0f / 12, 1.0f / 6 }, { 1.0f / 24, -1.0f / 12, 1.0f / 6 }, { 0, 0, 1 },
};

/* u[ob][xi][c][OCB] = (G g G^T)[xi], g = the 3x3 kernel from input channel
 * c to output o; zeros past O.  flip: g is w[c][o] rotated by 180 degrees
 * (din's kernel), else w[o][c].  The OCB channels of a block side by side,
 * so that the arithmetic runs on vectors. */
static void
transform_weights (float *u, const float *w, int C, int O, gboolean flip)
{
  for (int ob = 0; ob < O; ob += OCB)
    for (int c = 0; c < C; c++)
      {
        float g[3][3][OCB], t[6][3][OCB];
        for (int o = 0; o < OCB; o++)
          for (int t9 = 0; t9 < 9; t9++)
            g[t9 / 3][t9 % 3][o] = ob + o >= O ? 0.0f
                                   : flip ? w[((size_t) c * O + ob + o) * 9 + 8 - t9]
                                          : w[((size_t) (ob + o) * C + c) * 9 + t9];
        for (int i = 0; i < 6; i++)
          for (int x = 0; x < 3; x++)
            for (int o = 0; o < OCB; o++)
              t[i][x][o] = G[i][0] * g[0][x][o] + G[i][1] * g[1][x][o] + G[i][2] * g[2][x][o];
        float *dst = u + (size_t) ob * POS * C + (size_t) c * OCB;
        for (int i = 0; i < 6; i++)
          for (int j = 0; j < 6; j++)
            for (int o = 0; o < OCB; o++)
              dst[(size_t) (i * 6 + j) * C * OCB + o]
                = t[i][0][o] * G[j][0] + t[i][1][o] * G[j][1] + t[i][2][o] * G[j][2];
      }
}

/* B^T d for one column (or row) of 6 */
ALWAYS_INLINE void
input_1d (vf o[6], vf d0, vf d1, vf d2, vf d3, vf d4, vf d5)
{
  o[0] = 4 * d0 - 5 * d2 + d4;
  o[1] = d3 + d4 - 4 * (d1 + d2);
  o[2] = d4 - d3 + 4 * (d1 - d2);
  o[3] = d4 - d2 + 2 * (d3 - d1);
  o[4] = d4 - d2 - 2 * (d3 - d1);
  o[5] = 4 * d1 - 5 * d3 + d5;
}

/* A^T m for one column (or row) of 6 */
ALWAYS_INLINE void
output_1d (vf o[4], vf m0, vf m1, vf m2, vf m3, vf m4, vf m5)
{
  vf a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
  o[0] = m0 + a + c;
  o[1] = b + 2 * d;
  o[2] = a + 4 * c;
  o[3] = b + 8 * d + m5;
}

/* Source row of padded row iy + 1 (iy may be -1 or h), or NULL for zeros;
 * rows past h only feed outputs past the image's end.  With j->up the row
 * is the upsampled one, computed into buf for columns [x0, x1) only (the
 * returned pointer is then valid there alone). */
static inline const float *
source_row (const float *plane, const Job *j, int iy, float *buf, int x0, int x1)
{
  const int h = j->h, w = j->w;
  if (iy < -1 || iy > h || ((iy < 0 || iy == h) && j->mode == NS_PAD_ZERO))
    return NULL;
  if (!j->up)
    return plane + (size_t) ns_reflect_index (iy, h) * w;
  j->up (buf, plane, h / 2, w / 2, ns_reflect_index (iy, h), x0, x1);
  return buf - x0;
}

static inline float
source_at (const float *row, int ix, int w, NsPad mode)
{
  if (ix >= 0 && ix < w)
    return row[ix];
  if (ix < -1 || ix > w || mode == NS_PAD_ZERO)
    return 0.0f;
  return row[ns_reflect_index (ix, w)];
}

/* Tiles [tx0, tx0 + nq) of tile row ty, channel c: ph[j][f][q] = padded
 * row 4 ty + j, column 4 (tx0 + q) + f, for q up to a vector past nq.
 * A vector of tiles inside the image splits straight from the row; one
 * that reaches column -1 or w and beyond splits from a padded copy of its
 * columns (reflection or zeros at -1 and w, zeros beyond), so every vector
 * goes by shuffles: at the training's widths (32-128) most vectors touch a
 * border, at 1 MP copying whole rows was a tenth of the command. */
static void
split_phases (float *ph, const float *plane, const Job *j, int ty, int tx0, int nq)
{
  const int w = j->w, nv = (nq + VL - 1) / VL * VL, x0 = 4 * tx0 - 1;
  /* the columns read: [x0, x0 + 4 nv + 4) inside the image, where the
   * reflected columns -1 and w (1 and w - 2) lie too, as x0 <= w - 2 */
  float up[4 * TILES + 4];
  const int up0 = MAX (x0, 0), up1 = MIN (x0 + 4 * nv + 4, w);
  for (int r = 0; r < 6; r++)
    {
      float *p = ph + r * 4 * QP;
      const float *row = source_row (plane, j, 4 * ty + r - 1, up, up0, up1);
      if (!row)
        {
          for (int f = 0; f < 4; f++)
            memset (p + f * QP, 0, sizeof (float) * (nv + 1));
          continue;
        }
      for (int q = 0; q < nv; q += VL)
        {
          const int x = x0 + 4 * q;
          if (x >= 0 && x + 4 * VL <= w)
            {
              split4 (p + q, QP, row + x);
              continue;
            }
          float cols[4 * VL];
          const int lo = MIN (4 * VL, MAX (0, -x)), hi = MAX (lo, MIN (4 * VL, w - x));
          for (int i = 0; i < lo; i++)
            cols[i] = source_at (row, x + i, w, j->mode);
          memcpy (cols + lo, row + x + lo, sizeof (float) * (hi - lo));
          /* past the row only column w may be non-zero (reflection); at
           * 32-64 px half a vector lies there, so zero the rest at once */
          const int tail = MIN (4 * VL, MAX (hi, w + 1 - x));
          for (int i = hi; i < tail; i++)
            cols[i] = source_at (row, x + i, w, j->mode);
          memset (cols + tail, 0, sizeof (float) * (4 * VL - tail));
          split4 (p + q, QP, cols);
        }
      for (int f = 0; f < 4; f++)   /* the tile after the last vector's */
        p[f * QP + nv] = source_at (row, x0 + 4 * nv + f, w, j->mode);
    }
}

/* v[xi][c][t0 + q] for the nq tiles of ph */
static void
transform_input (float *v, const float *ph, int C, int c, int t0, int nq)
{
  for (int q = 0; q < nq; q += VL)
    {
      vf t[6][6];
      for (int r = 0; r < 6; r++)
        {
          const float *p = ph + r * 4 * QP + q;
          input_1d (t[r], load (p), load (p + QP), load (p + 2 * QP),
                    load (p + 3 * QP), load (p + 1), load (p + QP + 1));
        }
      for (int x = 0; x < 6; x++)
        {
          vf o[6];
          input_1d (o, t[0][x], t[1][x], t[2][x], t[3][x], t[4][x], t[5][x]);
          for (int y = 0; y < 6; y++)
            store (v + ((size_t) (y * 6 + x) * C + c) * TP + t0 + q, o[y]);
        }
    }
}

/* m[xi][o][x + t] = sum over c of u[xi][c][o] v[xi][c][x + t], o < OCB,
 * t < NV vectors */
ALWAYS_INLINE void
products_at (float *mx, const float *vx, const float *ux, int C, int x, const int NV)
{
  vf acc[OCB][PX];
#pragma GCC unroll 16
  for (int o = 0; o < OCB; o++)
#pragma GCC unroll 16
    for (int k = 0; k < NV; k++)
      acc[o][k] = (vf) { };
  for (int c = 0; c < C; c++)
    {
      vf a[PX];
#pragma GCC unroll 16
      for (int k = 0; k < NV; k++)
        a[k] = load (vx + (size_t) c * TP + x + k * VL);
#pragma GCC unroll 16
      for (int o = 0; o < OCB; o++)
        {
          const float wv = ux[c * OCB + o];
#pragma GCC unroll 16
          for (int k = 0; k < NV; k++)
            acc[o][k] += a[k] * wv;
        }
    }
#pragma GCC unroll 16
  for (int o = 0; o < OCB; o++)
#pragma GCC unroll 16
    for (int k = 0; k < NV; k++)
      store (mx + (size_t) o * TP + x + k * VL, acc[o][k]);
}

/* m[xi] = u[xi]^T v[xi] for every position, over the first n tiles (whole
 * vectors): a small image's last block skips most of its empty tiles */
static void
products (float *m, const float *v, const float *u, int C, int n)
{
  for (int xi = 0; xi < POS; xi++)
    {
      const float *vx = v + (size_t) xi * C * TP, *ux = u + (size_t) xi * C * OCB;
      float *mx = m + (size_t) xi * OCB * TP;
      int x = 0;
      for (; x + PX * VL <= n; x += PX * VL)
        products_at (mx, vx, ux, C, x, PX);
      for (; x < n; x += VL)
        products_at (mx, vx, ux, C, x, 1);
    }
}

/* The 4x4 outputs of channel o (m's row k) for tiles [tx0, tx0 + nq) of
 * tile row ty, whose m columns start at t0. */
static void
transform_output (float *plane, const float *m, const Job *j, int k, float bias,
                  int ty, int tx0, int nq, int t0)
{
  const int h = j->h, w = j->w;
  for (int q = 0; q < nq; q += VL)
    {
      vf t[6][4], y[4][4];
      for (int r = 0; r < 6; r++)
        {
          const float *p = m + ((size_t) (r * 6) * OCB + k) * TP + t0 + q;
          const size_t step = (size_t) OCB * TP;
          output_1d (t[r], load (p), load (p + step), load (p + 2 * step),
                     load (p + 3 * step), load (p + 4 * step), load (p + 5 * step));
        }
      for (int x = 0; x < 4; x++)
        {
          vf o[4];
          output_1d (o, t[0][x], t[1][x], t[2][x], t[3][x], t[4][x], t[5][x]);
          for (int r = 0; r < 4; r++)
            y[r][x] = o[r] + bias;
        }
      const int lanes = MIN (VL, nq - q), x0 = 4 * (tx0 + q);
      const int n = MIN (4 * lanes, w - x0);
      for (int r = 0; r < 4 && 4 * ty + r < h; r++)
        {
          vf o[4];
          float *dst = plane + (size_t) (4 * ty + r) * w + x0;
          merge4 (o, y[r][0], y[r][1], y[r][2], y[r][3]);
          if (n == 4 * VL)
            for (int i = 0; i < 4; i++)
              store (dst + i * VL, j->add ? load (dst + i * VL) + o[i] : o[i]);
          else
            {
              float row[4 * VL];
              for (int i = 0; i < 4; i++)
                store (row + i * VL, o[i]);
              if (j->add)
                for (int i = 0; i < n; i++)
                  dst[i] += row[i];
              else
                memcpy (dst, row, sizeof (float) * n);
            }
        }
    }
}

/* v for the n tiles from `first` of one image, planes in_plane floats apart */
static void
transform_block (float *v, float *ph, const float *in, size_t in_plane, const Job *j,
                 int first, int n)
{
  for (int c = 0; c < j->C; c++)
    for (int t = first; t < first + n;)
      {
        const int ty = t / j->tw, tx0 = t % j->tw, nq = MIN (j->tw - tx0, first + n - t);
        split_phases (ph, in + (size_t) c * in_plane, j, ty, tx0, nq);
        transform_input (v, ph, j->C, c, t - first, nq);
        t += nq;
      }
}

static void
block_task (gpointer data, int task, int thread)
{
  const Job *j = data;
  const int img = task / j->blocks, first = (task % j->blocks) * TILES;
  const int tiles = (j->h + 3) / 4 * j->tw, n = MIN (TILES, tiles - first);
  float *v = j->ws + thread * j->thread_len;
  float *m = v + round16 ((size_t) POS * j->C * TP);
  float *ph = m + round16 ((size_t) POS * OCB * TP);
  const size_t in_plane = j->up ? (size_t) (j->h / 2) * (j->w / 2) : (size_t) j->h * j->w;
  const float *in = j->in + (size_t) img * j->C * in_plane;
  float *out = j->out + (size_t) img * j->O * j->h * j->w;

  transform_block (v, ph, in, in_plane, j, first, n);
  /* The last block's tiles in its last vector, and m's slack, are read by
   * the products and the output's last partial vectors: finite values. */
  const int nv = (n + VL - 1) / VL * VL;
  if (n < nv)
    for (size_t row = 0; row < (size_t) POS * j->C; row++)
      memset (v + row * TP + n, 0, sizeof (float) * (nv - n));
  for (size_t row = 0; row < (size_t) POS * OCB; row++)
    memset (m + row * TP + nv, 0, sizeof (float) * (TP - nv));

  for (int ob = 0; ob < j->O; ob += OCB)
    {
      products (m, v, j->u + (size_t) ob * POS * j->C, j->C, n);
      for (int k = 0; k < OCB && ob + k < j->O; k++)
        {
          const float bias = j->bias ? j->bias[ob + k] : 0.0f;
          float *plane = out + (size_t) (ob + k) * j->h * j->w;
          for (int t = first; t < first + n;)
            {
              const int ty = t / j->tw, tx0 = t % j->tw, nq = MIN (j->tw - tx0, first + n - t);
              transform_output (plane, m, j, k, bias, ty, tx0, nq, t - first);
              t += nq;
            }
        }
    }
}

static void
run (Job *j, int n_images)
{
  j->tw = (j->w + 3) / 4;
  j->blocks = ((j->h + 3) / 4 * j->tw + TILES - 1) / TILES;
  j->thread_len = thread_len (j->C);
  ns_tasks_run (n_images * j->blocks, block_task, j);
}

static void
forward_upsampled (float *out, const float *in, NsUpsampleRowFunc up, const float *w,
                   const float *b, const NsConv2dShape *s, float *ws)
{
  transform_weights (ws, w, s->in_c, s->out_c, FALSE);
  Job j = { .in = in, .u = ws, .bias = b, .out = out, .C = s->in_c, .O = s->out_c,
            .h = s->h, .w = s->w, .mode = s->pad, .up = up, .add = FALSE,
            .ws = ws + u_len (s->in_c, s->out_c) };
  run (&j, s->n);
}

static void
forward (float *out, const float *in, const float *w, const float *b,
         const NsConv2dShape *s, float *ws)
{
  forward_upsampled (out, in, NULL, w, b, s, ws);
}

/* din's padded border, for reflection: the padded input's gradient on rows
 * -1 and h and columns -1 and w (image coordinates), each folded into the
 * pixel it mirrors.  Row -1 only sees kernel row 0 over dout's row 0, row h
 * kernel row 2 over row h - 1; columns likewise.  Each edge is a 1-D
 * correlation of an edge of dout (copied once per image between zeros, so
 * that the loops run on contiguous vectors), summed over the output
 * channels: a product of [ic][oc x 3 taps] weights by the shifted edges, in
 * registers as products_at (OCB input channels x PX vectors).  One task
 * per block of OCB input channels, each writing its own planes. */
typedef struct
{
  float *din, *sums;
  const float *w, *edges;   /* edges[e][oc][pitch]: rows -1, h, columns -1, w */
  const NsConv2dShape *s;
  size_t pitch, sums_len;
} Fold;

/* sums[i][x] = Σ over oc and t < 3 of g(oc, ic0 + i, t) src[oc][x + 2 - t]
 * for x in [x0, x0 + NV VL), g(oc, ic, t) = w[(oc C + ic) 9 + base + t tap] */
ALWAYS_INLINE void
fold_products (float *sums, const Fold *f, const float *src, int ic0, int n_ic,
               int base, int tap, int x0, const int NV)
{
  const int C = f->s->in_c, O = f->s->out_c;
  vf acc[OCB][PX];
#pragma GCC unroll 16
  for (int i = 0; i < OCB; i++)
#pragma GCC unroll 16
    for (int k = 0; k < NV; k++)
      acc[i][k] = (vf) { };
  for (int oc = 0; oc < O; oc++)
    for (int t = 0; t < 3; t++)
      {
        vf a[PX];
        const float *d = src + (size_t) oc * f->pitch + x0 + 2 - t;
#pragma GCC unroll 16
        for (int k = 0; k < NV; k++)
          a[k] = load (d + k * VL);
        const float *g = f->w + ((size_t) oc * C + ic0) * 9 + base + t * tap;
#pragma GCC unroll 16
        for (int i = 0; i < OCB; i++)
          {
            /* channels past the last repeat it; their sums are not used */
            const float gv = g[MIN (i, n_ic - 1) * 9];
#pragma GCC unroll 16
            for (int k = 0; k < NV; k++)
              acc[i][k] += a[k] * gv;
          }
      }
#pragma GCC unroll 16
  for (int i = 0; i < OCB; i++)
#pragma GCC unroll 16
    for (int k = 0; k < NV; k++)
      store (sums + (size_t) i * f->pitch + x0 + k * VL, acc[i][k]);
}

/* the sums of one edge for n x positions */
static void
fold_edge (float *sums, const Fold *f, int e, int ic0, int n_ic, int n)
{
  /* rows: t = kx over kernel row 0 or 2; columns: t = ky over column 0 or 2 */
  const int base = e < 2 ? (e ? 6 : 0) : (e == 3 ? 2 : 0), tap = e < 2 ? 1 : 3;
  const float *src = f->edges + (size_t) e * f->s->out_c * f->pitch;
  const int nv = (n + VL - 1) / VL * VL;
  int x = 0;
  for (; x + PX * VL <= nv; x += PX * VL)
    fold_products (sums, f, src, ic0, n_ic, base, tap, x, PX);
  for (; x < nv; x += VL)
    fold_products (sums, f, src, ic0, n_ic, base, tap, x, 1);
}

static void
fold_task (gpointer data, int task, int thread)
{
  const Fold *f = data;
  const int h = f->s->h, wd = f->s->w, ic0 = task * OCB;
  const int n_ic = MIN (OCB, f->s->in_c - ic0);
  float *sums = f->sums + thread * f->sums_len;
  for (int e = 0; e < 2; e++)   /* rows -1 and h, columns -1 .. w */
    {
      fold_edge (sums, f, e, ic0, n_ic, wd + 2);
      const int iy = ns_reflect_index (e ? h : -1, h);
      for (int i = 0; i < n_ic; i++)
        {
          float *dst = f->din + ((size_t) (ic0 + i) * h + iy) * wd;
          const float *sum = sums + (size_t) i * f->pitch;
          for (int px = 0; px < wd + 2; px++)
            dst[ns_reflect_index (px - 1, wd)] += sum[px];
        }
    }
  for (int e = 2; e < 4; e++)   /* columns -1 and w, rows 0 .. h - 1 */
    {
      fold_edge (sums, f, e, ic0, n_ic, h);
      const int ix = ns_reflect_index (e == 3 ? wd : -1, wd);
      for (int i = 0; i < n_ic; i++)
        {
          float *plane = f->din + (size_t) (ic0 + i) * h * wd;
          const float *sum = sums + (size_t) i * f->pitch;
          for (int iy = 0; iy < h; iy++)
            plane[(size_t) iy * wd + ix] += sum[iy];
        }
    }
}

static void
fold_border (float *din, const float *dout, const float *w, const NsConv2dShape *s,
             float *ws)
{
  const int h = s->h, wd = s->w, O = s->out_c;
  const size_t pitch = fold_pitch (s);
  Fold f = { .din = din, .w = w, .edges = ws, .s = s, .pitch = pitch,
             .sums = ws + round16 ((size_t) 4 * O * pitch),
             .sums_len = (size_t) OCB * pitch };
  /* edge e of channel oc at ws[e][oc]: values from index 2 (rows) or 1
   * (columns), so that output x reads x + 2 - t */
  memset (ws, 0, sizeof (float) * 4 * O * pitch);
  for (int oc = 0; oc < O; oc++)
    {
      const float *plane = dout + (size_t) oc * h * wd;
      memcpy (ws + (size_t) oc * pitch + 2, plane, sizeof (float) * wd);
      memcpy (ws + (size_t) (O + oc) * pitch + 2, plane + (size_t) (h - 1) * wd,
              sizeof (float) * wd);
      float *c0 = ws + (size_t) (2 * O + oc) * pitch + 1, *c1 = c0 + (size_t) O * pitch;
      for (int y = 0; y < h; y++)
        {
          c0[y] = plane[(size_t) y * wd];
          c1[y] = plane[(size_t) y * wd + wd - 1];
        }
    }
  ns_tasks_run ((s->in_c + OCB - 1) / OCB, fold_task, &f);
}

static void
backward_data (float *din, const float *dout, const float *w, const NsConv2dShape *s,
               float *ws)
{
  transform_weights (ws, w, s->out_c, s->in_c, TRUE);
  /* the padded input's interior: a zero-padded convolution of dout */
  Job j = { .in = dout, .u = ws, .out = din, .C = s->out_c, .O = s->in_c,
            .h = s->h, .w = s->w, .mode = NS_PAD_ZERO, .add = TRUE,
            .ws = ws + u_len (s->out_c, s->in_c) };
  run (&j, s->n);
  if (s->pad == NS_PAD_REFLECT)
    for (int i = 0; i < s->n; i++)
      fold_border (din + (size_t) i * s->in_c * s->h * s->w,
                   dout + (size_t) i * s->out_c * s->h * s->w, w, s, j.ws);
}

/* ---- dW ------------------------------------------------------------------
 *
 * Y = Aᵀ (U ⊙ V) A per tile, so dL/dU[ξ] = Σ over tiles of
 * (A dY Aᵀ)[ξ] x V[ξ]ᵀ and dW = Gᵀ dU G.  The sum over a block's tiles is a
 * product with the tiles as the inner dimension: v is transposed to
 * [ξ][tile][c] so that input channels lie along the vector. */

/* ph[r][f][q] = dout row 4 ty + r, column 4 tx + f of tile first + q
 * (zeros outside the image), for the block's n tiles, which may span tile
 * rows: at the training's 32-64 px a tile row is 8-16 tiles, half a
 * vector or one, so a vector per tile row would waste half of it.  Each
 * row goes through a zero-padded copy of its tiles' spans. */
static void
split_dout (float *ph, const float *plane, const Job *j, int first, int n)
{
  const int h = j->h, w = j->w, tw = j->tw, nv = (n + VL - 1) / VL * VL;
  float span[4 * TILES];
  for (int r = 0; r < 4; r++)
    {
      float *p = ph + r * 4 * QP;
      memset (span, 0, sizeof (float) * 4 * nv);
      for (int t = first; t < first + n;)
        {
          const int ty = t / tw, tx0 = t % tw, nq = MIN (tw - tx0, first + n - t);
          const int y = 4 * ty + r, x0 = 4 * tx0;
          if (y < h)
            memcpy (span + 4 * (t - first), plane + (size_t) y * w + x0,
                    sizeof (float) * MIN (4 * nq, w - x0));
          t += nq;
        }
      for (int q = 0; q < nv; q += VL)
        split4 (p + q, QP, span + 4 * q);
    }
}

/* A y for one column (or row) of 4: the output transform's adjoint */
ALWAYS_INLINE void
dout_1d (vf o[6], vf y0, vf y1, vf y2, vf y3)
{
  vf a = y0 + y2, b = y1 + y3, c = y0 + 4 * y2, d = 2 * y1 + 8 * y3;
  o[0] = y0;
  o[1] = a + b;
  o[2] = a - b;
  o[3] = c + d;
  o[4] = c - d;
  o[5] = y3;
}

/* dm[xi][o][q] = (A dY Aᵀ)[xi] for the n tiles of ph */
static void
transform_dout (float *dm, const float *ph, int op, int o, int n)
{
  for (int q = 0; q < n; q += VL)
    {
      vf t[4][6];
      for (int r = 0; r < 4; r++)
        {
          const float *p = ph + r * 4 * QP + q;
          dout_1d (t[r], load (p), load (p + QP), load (p + 2 * QP), load (p + 3 * QP));
        }
      for (int x = 0; x < 6; x++)
        {
          vf m[6];
          dout_1d (m, t[0][x], t[1][x], t[2][x], t[3][x]);
          for (int y = 0; y < 6; y++)
            store (dm + ((size_t) (y * 6 + x) * op + o) * TP + q, m[y]);
        }
    }
}

/* du[xi][o][c] (=, or += with add) Σ over t < n of dm[xi][o][t] vt[xi][t][c],
 * in register blocks of OB output channels x CV vectors of input channels */
ALWAYS_INLINE void
dw_products_by (float *du, const float *vt, const float *dm, int n, int op, int cp,
                gboolean add, const int OB, const int CV)
{
  for (int xi = 0; xi < POS; xi++)
    for (int ob = 0; ob < op; ob += OB)
      for (int cb = 0; cb < cp; cb += CV * VL)
        {
          vf acc[2 * DW_O][DW_CV];
#pragma GCC unroll 16
          for (int o = 0; o < OB; o++)
#pragma GCC unroll 16
            for (int k = 0; k < CV; k++)
              acc[o][k] = (vf) { };
          const float *vx = vt + (size_t) xi * TILES * cp + cb;
          const float *dx = dm + ((size_t) xi * op + ob) * TP;
          for (int t = 0; t < n; t++)
            {
              vf a[DW_CV];
#pragma GCC unroll 16
              for (int k = 0; k < CV; k++)
                a[k] = load (vx + (size_t) t * cp + k * VL);
#pragma GCC unroll 16
              for (int o = 0; o < OB; o++)
                {
                  const float b = dx[(size_t) o * TP + t];
#pragma GCC unroll 16
                  for (int k = 0; k < CV; k++)
                    acc[o][k] += a[k] * b;
                }
            }
#pragma GCC unroll 16
          for (int o = 0; o < OB; o++)
#pragma GCC unroll 16
            for (int k = 0; k < CV; k++)
              {
                float *d = du + ((size_t) xi * op + ob + o) * cp + cb + k * VL;
                store (d, add ? load (d) + acc[o][k] : acc[o][k]);
              }
        }
}

static void
dw_products (float *du, const float *vt, const float *dm, int n, int op, int cp,
             gboolean add, int C)
{
  if (dw_cv (C) == DW_CV)
    dw_products_by (du, vt, dm, n, op, cp, add, DW_O, DW_CV);
  else
    dw_products_by (du, vt, dm, n, op, cp, add, 2 * DW_O, DW_CV / 2);
}

/* r[i][k] becomes r[k][i]: log2 (VL) rounds of interleaving rows i and
 * i + VL / 2 transpose a VL x VL block */
ALWAYS_INLINE void
transpose_vl (vf r[VL])
{
  const vi lo = LO, hi = HI;
  for (int round = 1; round < VL; round *= 2)
    {
      vf t[VL];
#pragma GCC unroll 16
      for (int i = 0; i < VL / 2; i++)
        {
          t[2 * i] = __builtin_shuffle (r[i], r[i + VL / 2], lo);
          t[2 * i + 1] = __builtin_shuffle (r[i], r[i + VL / 2], hi);
        }
#pragma GCC unroll 16
      for (int i = 0; i < VL; i++)
        r[i] = t[i];
    }
}

/* vt[xi][t][c] = v[xi][c][t] for t below n rounded up to whole vectors
 * (TILES is a multiple of VL; v's rows have the slack), zeros for c from C
 * to cp */
static void
transpose_v (float *vt, const float *v, int C, int cp, int n)
{
  const int cv = (C + VL - 1) / VL * VL;
  for (int xi = 0; xi < POS; xi++)
    for (int t0 = 0; t0 < n; t0 += VL)
      {
        float *dst = vt + ((size_t) xi * TILES + t0) * cp;
        for (int c0 = 0; c0 < C; c0 += VL)
          {
            vf r[VL];
            for (int i = 0; i < VL; i++)
              r[i] = c0 + i < C ? load (v + ((size_t) xi * C + c0 + i) * TP + t0) : (vf) { };
            transpose_vl (r);
            for (int k = 0; k < VL; k++)
              store (dst + (size_t) k * cp + c0, r[k]);
          }
        if (cv < cp)
          for (int k = 0; k < VL; k++)
            memset (dst + (size_t) k * cp + cv, 0, sizeof (float) * (cp - cv));
      }
}

/* du += the sums of block `block` (over the whole batch) */
static void
dw_block (float *du, float *v, float *vt, float *dm, float *ph, const Job *j, int block,
          gboolean add)
{
  const int img = block / j->blocks, first = (block % j->blocks) * TILES;
  const int tiles = (j->h + 3) / 4 * j->tw, n = MIN (TILES, tiles - first);
  const int C = j->C, O = j->O, cp = dw_round_c (C), op = dw_round_o (O, C);
  const size_t hw = (size_t) j->h * j->w;

  transform_block (v, ph, j->in + (size_t) img * C * hw, hw, j, first, n);
  transpose_v (vt, v, C, cp, n);
  const float *dout = j->dout + (size_t) img * O * hw;
  for (int o = 0; o < O; o++)
    {
      split_dout (ph, dout + (size_t) o * hw, j, first, n);
      transform_dout (dm, ph, op, o, n);
    }
  for (int xi = 0; xi < POS; xi++)
    for (int o = O; o < op; o++)
      memset (dm + ((size_t) xi * op + o) * TP, 0, sizeof (float) * n);
  dw_products (du, vt, dm, n, op, cp, add, C);
}

/* part `task` of dW: Gᵀ du G over its blocks */
static void
dw_task (gpointer data, int task, int thread)
{
  const Job *j = data;
  const int C = j->C, O = j->O, cp = dw_round_c (C), op = dw_round_o (O, C);
  float *v = j->ws + thread * j->thread_len;
  float *vt = v + round16 ((size_t) POS * C * TP);
  float *dm = vt + round16 ((size_t) POS * TILES * cp);
  float *ph = dm + round16 ((size_t) POS * op * TP);
  float *du = ph + round16 ((size_t) 6 * 4 * QP);
  float *part = j->parts + (size_t) task * round16 ((size_t) O * C * 9);

  if (task >= j->all_blocks)
    {
      memset (part, 0, sizeof (float) * O * C * 9);
      return;
    }
  for (int b = task; b < j->all_blocks; b += DW_PARTS)
    dw_block (du, v, vt, dm, ph, j, b, b != task);
  /* on vectors of VL input channels, in registers (du is zero for the
   * padding channels past C, so whole vectors can be read) */
  for (int o = 0; o < O; o++)
    for (int c0 = 0; c0 < C; c0 += VL)
      {
        vf t[3][6], d[9];
        for (int x = 0; x < 6; x++)
          {
            vf g[6];
            for (int i = 0; i < 6; i++)
              g[i] = load (du + ((size_t) (i * 6 + x) * op + o) * cp + c0);
            for (int a = 0; a < 3; a++)
              t[a][x] = G[0][a] * g[0] + G[1][a] * g[1] + G[2][a] * g[2]
                        + G[3][a] * g[3] + G[4][a] * g[4] + G[5][a] * g[5];
          }
        for (int a = 0; a < 3; a++)
          for (int b = 0; b < 3; b++)
            d[a * 3 + b] = t[a][0] * G[0][b] + t[a][1] * G[1][b] + t[a][2] * G[2][b]
                           + t[a][3] * G[3][b] + t[a][4] * G[4][b] + t[a][5] * G[5][b];
        for (int c = 0; c < MIN (VL, C - c0); c++)
          for (int k = 0; k < 9; k++)
            part[((size_t) o * C + c0 + c) * 9 + k] = d[k][c];
      }
}

static void
backward_weights (float *dw, const float *dout, const float *in, const NsConv2dShape *s,
                  float *ws)
{
  const size_t part_len = round16 ((size_t) s->out_c * s->in_c * 9);
  Job j = { .in = in, .dout = dout, .C = s->in_c, .O = s->out_c, .h = s->h, .w = s->w,
            .mode = s->pad, .parts = ws, .ws = ws + DW_PARTS * part_len };
  j.tw = (j.w + 3) / 4;
  j.blocks = ((j.h + 3) / 4 * j.tw + TILES - 1) / TILES;
  j.all_blocks = s->n * j.blocks;
  j.thread_len = dw_thread_len (j.C, j.O);
  ns_tasks_run (DW_PARTS, dw_task, &j);
  for (int p = 0; p < DW_PARTS; p++)   /* in order */
    for (size_t e = 0; e < (size_t) s->out_c * s->in_c * 9; e++)
      dw[e] += j.parts[p * part_len + e];
}

const NsConvWinogradKernels ISA_TABLE (ns_conv_winograd) = {
  ISA_NAME, workspace, forward, forward_upsampled, backward_data, backward_weights
};
