/* Direct-convolution kernels of op_conv2d.c (internal).  conv2d_direct.c is
 * compiled once per instruction set (portable, AVX2+FMA, AVX-512) with its
 * own flags; op_conv2d.c picks one table at run time and does the padding,
 * banding and threading, so the kernels only see padded, in-bounds data. */
#pragma once
#include <glib.h>
#include <stddef.h>

/* Floats of zeroed slack after every padded input row: the widest vector
 * (16) plus the farthest tap reach, so tail vectors read in bounds. */
#define NS_CONV_ROW_SLACK 32

typedef struct
{
  /* padded input band: [in_c][rows][stride phases][pitch]; phase f of a
   * padded row holds its columns f, f + stride, f + 2 stride, ... */
  const float *in;
  size_t in_plane;   /* floats per channel */
  int    in_row;     /* floats per padded row (stride * pitch) */
  int    pitch;      /* floats per phase */
  /* output rows [0, rows) of every channel (forward writes, dW reads) */
  float *out;
  size_t out_plane;
  int    out_row;
  int    in_c, out_c, k, stride, out_w, rows;
  /* forward: weights [in_c][k][k][ocp], ocp = out_c rounded up to
   * oc_block (out_c); bias [out_c] or NULL */
  const float *w;
  int    ocp;
  const float *bias;
} NsConvDirectArgs;

typedef struct
{
  const char *name;
  /* output channels computed together (the forward weights' padding) */
  int  (*oc_block) (int out_c);
  /* out = bias + conv (in, w) */
  void (*forward) (const NsConvDirectArgs *a);
  /* dw[oc][ic][ky][kx] += sum over the rows of out (= dout) x in */
  void (*weight_grad) (float *dw, const NsConvDirectArgs *a);
} NsConvDirectKernels;

extern const NsConvDirectKernels ns_conv_direct_portable;
extern const NsConvDirectKernels ns_conv_direct_avx2;
extern const NsConvDirectKernels ns_conv_direct_avx512;
