/* Direct convolution kernels, one build per instruction set (conv_isa.h);
 * the register blocks are sized to each set's register file.
 *
 * Forward: a block of OCB output channels x PX vectors of one output row
 * lives in registers; every tap loads PX input vectors and broadcasts OCB
 * weights, so each load feeds OCB (or PX) FMAs.  Weight gradient: a block of
 * OCB output channels x TB taps along kx accumulates dout x input over the
 * rows, then reduces its lanes once. */
#include "conv2d_direct.h"
#include "conv_isa.h"
#include <string.h>

#if defined NS_ISA_AVX512
#define OCB_WIDE  8     /* 8 x 3 accumulators + 3 inputs of 32 registers */
#define PX_WIDE   3
#define PX_FEW    8     /* 3 channels x 8 vectors */
#define OCB_DW    8
#else                   /* 16 registers (AVX2 and SSE2) */
#define OCB_WIDE  4     /* 4 x 3 + 3 of 16 registers */
#define PX_WIDE   3
#define PX_FEW    4
#define OCB_DW    4
#endif

#define OCB_MAX MAX (OCB_WIDE, MAX (OCB_DW, 3))
#define PX_MAX  MAX (PX_WIDE, PX_FEW)

static int
oc_block (int out_c)
{
  return out_c <= 3 ? 3 : OCB_WIDE;
}

/* OCB channels from ob, PX vectors from column x of output row r; with
 * tail, one vector of which only the first `tail` lanes are stored. */
ALWAYS_INLINE void
forward_block (const NsConvDirectArgs *a, int r, int ob, int x, const int OCB,
               const int PX, const int S, int tail)
{
  vf acc[OCB_MAX][PX_MAX];   /* fixed sizes: registers after unrolling */
  #pragma GCC unroll 16
  for (int o = 0; o < OCB; o++)
    {
      float b = a->bias && ob + o < a->out_c ? a->bias[ob + o] : 0.0f;
      #pragma GCC unroll 16
      for (int j = 0; j < PX; j++)
        acc[o][j] = (vf) { } + b;
    }
  const int k = a->k;
  for (int ic = 0; ic < a->in_c; ic++)
    for (int ky = 0; ky < k; ky++)
      {
        const float *src = a->in + ic * a->in_plane + (size_t) (r * S + ky) * a->in_row + x;
        const float *wp = a->w + (size_t) (ic * k + ky) * k * a->ocp + ob;
        for (int kx = 0; kx < k; kx++, wp += a->ocp)
          {
            const float *s = src + (kx % S) * a->pitch + kx / S;
            if (PX > OCB)   /* few channels: weights in registers, one input at a time */
              {
                vf wv[OCB_MAX];
#pragma GCC unroll 16
                for (int o = 0; o < OCB; o++)
                  wv[o] = (vf) { } + wp[o];
#pragma GCC unroll 16
                for (int j = 0; j < PX; j++)
                  {
                    vf v = load (s + j * VL);
#pragma GCC unroll 16
                    for (int o = 0; o < OCB; o++)
                      acc[o][j] += v * wv[o];
                  }
                continue;
              }
            vf v[PX_MAX];
#pragma GCC unroll 16
            for (int j = 0; j < PX; j++)
              v[j] = load (s + j * VL);
#pragma GCC unroll 16
            for (int o = 0; o < OCB; o++)
              {
                const float wv = wp[o];
#pragma GCC unroll 16
                for (int j = 0; j < PX; j++)
                  acc[o][j] += v[j] * wv;
              }
          }
      }
  for (int o = 0; o < OCB && ob + o < a->out_c; o++)
    {
      float *dst = a->out + (ob + o) * a->out_plane + (size_t) r * a->out_row + x;
      if (tail)
        {
          float t[VL];
          store (t, acc[o][0]);
          memcpy (dst, t, sizeof (float) * tail);
        }
      else
        #pragma GCC unroll 16
        for (int j = 0; j < PX; j++)
          store (dst + j * VL, acc[o][j]);
    }
}

ALWAYS_INLINE void
forward_rows (const NsConvDirectArgs *a, const int OCB, const int PX, const int S)
{
  const int ow = a->out_w;
  for (int r = 0; r < a->rows; r++)
    for (int ob = 0; ob < a->out_c; ob += OCB)
      {
        int x = 0;
        for (; x + PX * VL <= ow; x += PX * VL)
          forward_block (a, r, ob, x, OCB, PX, S, 0);
        for (; x + VL <= ow; x += VL)
          forward_block (a, r, ob, x, OCB, 1, S, 0);
        if (x < ow)
          forward_block (a, r, ob, x, OCB, 1, S, ow - x);
      }
}

static void
forward (const NsConvDirectArgs *a)
{
  if (a->out_c <= 3)
    {
      if (a->stride == 1)
        forward_rows (a, 3, PX_FEW, 1);
      else
        forward_rows (a, 3, PX_FEW, 2);
    }
  else if (a->stride == 1)
    forward_rows (a, OCB_WIDE, PX_WIDE, 1);
  else
    forward_rows (a, OCB_WIDE, PX_WIDE, 2);
}

/* Left alone, GCC folds a vector's load into each multiply-add that uses
 * it (the dout vector into TB of them, an input vector into OCB): several
 * loads instead of one, and dW was bound by the loads. */
ALWAYS_INLINE void
keep_in_register (vf *v)
{
#if defined __x86_64__ || defined __i386__
  __asm__ ("" : "+x" (*v));
#else
  (void) v;
#endif
}

ALWAYS_INLINE float
lane_sum (vf v)
{
  float s = 0.0f;
  for (int l = 0; l < VL; l++)
    s += v[l];
  return s;
}

/* acc += dout x input over one vector of columns from x, of which n are
 * in the row (zeros past its end).  TB inputs are held and one dout vector
 * at a time: TB + 1 + OCB x TB registers. */
ALWAYS_INLINE void
weight_grad_step (vf acc[OCB_MAX][3], const float *const *d, const float *src,
                  int x, int n, int pitch, int kx0, const int OCB, const int TB,
                  const int S)
{
  vf v[3];
#pragma GCC unroll 16
  for (int t = 0; t < TB; t++)
    {
      int kx = kx0 + t;
      v[t] = load (src + (kx % S) * pitch + kx / S + x);
      keep_in_register (&v[t]);
    }
#pragma GCC unroll 16
  for (int o = 0; o < OCB; o++)
    {
      vf dv = { };
      if (n == VL)
        dv = load (d[o] + x);
      else
        for (int l = 0; l < n; l++)
          dv[l] = d[o][x + l];
      keep_in_register (&dv);
#pragma GCC unroll 16
      for (int t = 0; t < TB; t++)
        acc[o][t] += dv * v[t];
    }
}

/* dw for channels [ob, ob + OCB), input channel ic, row ky, columns
 * [kx0, kx0 + TB), over all rows and columns of the band. */
ALWAYS_INLINE void
weight_grad_block (float *dw, const NsConvDirectArgs *a, int ob, int ic, int ky,
                   int kx0, const int OCB, const int TB, const int S)
{
  vf acc[OCB_MAX][3];
  #pragma GCC unroll 16
  for (int o = 0; o < OCB; o++)
    #pragma GCC unroll 16
    for (int t = 0; t < TB; t++)
      acc[o][t] = (vf) { };
  const int ow = a->out_w, n_oc = MIN (OCB, a->out_c - ob);
  for (int r = 0; r < a->rows; r++)
    {
      const float *src = a->in + ic * a->in_plane + (size_t) (r * S + ky) * a->in_row;
      const float *d[OCB_MAX];
      #pragma GCC unroll 16
      for (int o = 0; o < OCB; o++)   /* missing channels repeat the last */
        d[o] = a->out + MIN (ob + o, a->out_c - 1) * a->out_plane + (size_t) r * a->out_row;
      int x = 0;
      for (; x + VL <= ow; x += VL)
        weight_grad_step (acc, d, src, x, VL, a->pitch, kx0, OCB, TB, S);
      if (x < ow)
        weight_grad_step (acc, d, src, x, ow - x, a->pitch, kx0, OCB, TB, S);
    }
  const int k = a->k, taps = a->in_c * k * k;
  for (int o = 0; o < n_oc; o++)
    #pragma GCC unroll 16
    for (int t = 0; t < TB; t++)
      dw[(size_t) (ob + o) * taps + (ic * k + ky) * k + kx0 + t] += lane_sum (acc[o][t]);
}

ALWAYS_INLINE void
weight_grad_rows (float *dw, const NsConvDirectArgs *a, const int OCB, const int S)
{
  const int k = a->k;
  for (int ob = 0; ob < a->out_c; ob += OCB)
    for (int ic = 0; ic < a->in_c; ic++)
      for (int ky = 0; ky < k; ky++)
        {
          int kx = 0;
          for (; kx + 3 <= k; kx += 3)
            weight_grad_block (dw, a, ob, ic, ky, kx, OCB, 3, S);
          if (k - kx == 2)
            weight_grad_block (dw, a, ob, ic, ky, kx, OCB, 2, S);
          else if (k - kx == 1)
            weight_grad_block (dw, a, ob, ic, ky, kx, OCB, 1, S);
        }
}

static void
weight_grad (float *dw, const NsConvDirectArgs *a)
{
  if (a->out_c <= 3)
    {
      if (a->stride == 1)
        weight_grad_rows (dw, a, 3, 1);
      else
        weight_grad_rows (dw, a, 3, 2);
    }
  else if (a->stride == 1)
    weight_grad_rows (dw, a, OCB_DW, 1);
  else
    weight_grad_rows (dw, a, OCB_DW, 2);
}

const NsConvDirectKernels ISA_TABLE (ns_conv_direct) = { ISA_NAME, oc_block, forward, weight_grad };
