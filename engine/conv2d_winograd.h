/* Winograd F(4,3) kernels of op_conv2d.c (internal) for 3x3 stride-1
 * convolutions: 4x4 output tiles from 6x6 input tiles, 36 products per
 * tile and channel pair instead of 144.  conv2d_winograd.c is built once
 * per instruction set (conv_isa.h); op_conv2d.c decides where it runs. */
#pragma once
#include "ns_ops.h"

typedef struct
{
  const char *name;
  /* floats of workspace for forward and backward_data of s */
  size_t (*workspace) (const NsConv2dShape *s);
  /* out = b + conv (in, w), as ns_conv2d_forward */
  void   (*forward) (float *out, const float *in, const float *w,
                     const float *b, const NsConv2dShape *s, float *ws);
  /* the same on the x2 upsampling of in [n][in_c][s->h / 2][s->w / 2] that
   * `up` computes, row by row as the tiles need it (never stored whole) */
  void   (*forward_upsampled) (float *out, const float *in, NsUpsampleRowFunc up,
                               const float *w, const float *b, const NsConv2dShape *s,
                               float *ws);
  /* din += d/din of the forward, given dout */
  void   (*backward_data) (float *din, const float *dout, const float *w,
                           const NsConv2dShape *s, float *ws);
  /* dw += d/dw of the forward, given dout and the forward's input */
  void   (*backward_weights) (float *dw, const float *dout, const float *in,
                              const NsConv2dShape *s, float *ws);
} NsConvWinogradKernels;

extern const NsConvWinogradKernels ns_conv_winograd_portable;
extern const NsConvWinogradKernels ns_conv_winograd_avx2;
extern const NsConvWinogradKernels ns_conv_winograd_avx512;
