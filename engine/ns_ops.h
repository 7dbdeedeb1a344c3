/* Tensor ops, NCHW float32, batch >= 1.  Each op is a pair of plain functions
 * in its own file (op_NAME.c): NAME_forward and NAME_backward.
 *
 * Argument order: outputs, saved activations, inputs and weights, then sizes,
 * then workspace.  Every backward ADDS into its gradient outputs (din, dw, ...),
 * so a tensor used twice (residual paths) just gets both contributions; the
 * caller zeroes gradient buffers before a backward pass.  A NULL gradient
 * output means "not needed" (for example din of the first layer).
 * No op allocates or fails: sizes are validated by whoever builds the model. */
#pragma once
#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Mirror index i into [0, n) for any i and n >= 1, about the edge pixels
 * without repeating them (... 2 1 | 0 1 ... n-1 | n-2 ...), and again when
 * the reach is wider than the image: periodic with period 2(n-1).  The one
 * reflection rule of the engine (padding, blurs, resampling, patches). */
static inline int
ns_reflect_index (int i, int n)
{
  if (n == 1)
    return 0;
  int period = 2 * (n - 1);
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - i;
}

/* ---- conv2d (op_conv2d.c): direct kernels or im2col + cblas_sgemm ------- */

typedef enum { NS_PAD_ZERO, NS_PAD_REFLECT } NsPad;

typedef struct
{
  int n, in_c, h, w;        /* input */
  int out_c, k, stride;     /* k odd, 1..9; stride 1 or 2 */
  NsPad pad;                /* "same" padding of k/2 on every side */
  int out_h, out_w;         /* derived by ns_conv2d_shape */
} NsConv2dShape;

/* Fills s and derives out_h/out_w: out = (in + 2*(k/2) - k) / stride + 1.
 * Reflection padding works for any input size (mirrors repeatedly when the
 * pad is wider than the image, e.g. a 1x1 input). */
void   ns_conv2d_shape (NsConv2dShape *s, int n, int in_c, int h, int w,
                        int out_c, int k, int stride, NsPad pad);
/* floats of workspace both passes need: im2col columns or padded input
 * for one band of output rows per core (a few MiB, at least a row's
 * columns or k padded rows per core), whatever the image size;
 * 0 for a 1x1 stride-1 conv, which needs none (ws may then be NULL) */
size_t ns_conv2d_workspace (const NsConv2dShape *s);
/* w: [out_c][in_c][k][k]; b: [out_c] or NULL */
void   ns_conv2d_forward  (float *out, const float *in, const float *w,
                           const float *b, const NsConv2dShape *s, float *ws);
/* Columns [x0, x1) of row oy of the x2 upsampling of in [h][w] into
 * dst[0 .. x1 - x0): ns_upsample2x_row or ns_upsample2x_bilinear_row. */
typedef void (*NsUpsampleRowFunc) (float *dst, const float *in, int h, int w, int oy,
                                   int x0, int x1);
/* ns_conv2d_forward on the x2 upsampling of in [n][in_c][s->h / 2][s->w / 2]
 * that `up` computes, without storing it (s is the upsampled input's
 * shape): the same bits as upsampling first.  Only where
 * ns_conv2d_reads_upsampled (s), which depends on the kernels in use. */
gboolean ns_conv2d_reads_upsampled  (const NsConv2dShape *s);
void     ns_conv2d_forward_upsampled (float *out, const float *in, NsUpsampleRowFunc up,
                                      const float *w, const float *b,
                                      const NsConv2dShape *s, float *ws);
/* din, dw, db may each be NULL */
void   ns_conv2d_backward (float *din, float *dw, float *db, const float *dout,
                           const float *in, const float *w,
                           const NsConv2dShape *s, float *ws);
/* The kernels behind them: "avx512", "avx2" or "portable" run Winograd
 * F(4,3) on the 3x3 stride-1 shapes where it is faster, the direct kernels
 * on the other few-channel shapes where they beat im2col + BLAS, and im2col
 * elsewhere; "ISA-direct" never runs Winograd, "ISA-winograd" runs it on
 * every 3x3 stride-1 shape; "direct" and "winograd" are those on the best
 * set; "im2col" runs im2col + BLAS everywhere.  Default: the best this CPU
 * supports, or $NS_CONV_KERNEL, read on first use.
 * set_kernel returns FALSE (and changes nothing) for an unknown name or one
 * this CPU cannot run; call it while no convolution runs.  Workspaces
 * (ns_conv2d_workspace) fit every kernel. */
gboolean    ns_conv2d_set_kernel (const char *name);
const char *ns_conv2d_kernel     (void);

/* ---- instance normalisation (op_instnorm.c) ---------------------------- *
 * out = gamma[c] * (in - mean[n,c]) * rstd[n,c] + beta[c]; mean and rstd
 * ([n*c] each) are saved for backward.  eps = NS_INSTNORM_EPS.
 * gamma and beta may be NULL (no affine: 1 and 0; dgamma/dbeta then unused).
 * relu: out = max (0, ...), in the same pass. */
#define NS_INSTNORM_EPS 1e-5f
void ns_instnorm_forward  (float *out, float *mean, float *rstd,
                           const float *in, const float *gamma, const float *beta,
                           int n, int c, int hw, gboolean relu);
void ns_instnorm_backward (float *din, float *dgamma, float *dbeta,
                           const float *dout, const float *in,
                           const float *mean, const float *rstd,
                           const float *gamma, int n, int c, int hw);

/* ---- conditional instance normalisation (op_cond_instnorm.c) ----------- *
 * gammas, betas: [n_styles][c].  mix: [n_styles] weights (one-hot picks a
 * style, a convex mix blends them); gamma_eff = sum_s mix[s] * gammas[s].
 * gamma_eff/beta_eff ([c] each) are saved for backward.  Backward gives
 * dgammas/dbetas for every style (scaled by its mix weight). */
void ns_cond_instnorm_forward  (float *out, float *mean, float *rstd,
                                float *gamma_eff, float *beta_eff,
                                const float *in, const float *gammas,
                                const float *betas, const float *mix,
                                int n_styles, int n, int c, int hw, gboolean relu);
void ns_cond_instnorm_backward (float *din, float *dgammas, float *dbetas,
                                const float *dout, const float *in,
                                const float *mean, const float *rstd,
                                const float *gamma_eff, const float *mix,
                                int n_styles, int n, int c, int hw);

/* ---- activations (op_act.c) --------------------------------------------- */
typedef enum { NS_ACT_RELU, NS_ACT_LEAKY_RELU, NS_ACT_TANH, NS_ACT_SIGMOID } NsAct;
/* in-place is allowed (out == in) for forward; slope is for LEAKY_RELU */
void ns_act_forward  (float *out, const float *in, size_t len, NsAct act, float slope);
/* needs both in and out (tanh/sigmoid use out, relus use in) */
void ns_act_backward (float *din, const float *dout, const float *in,
                      const float *out, size_t len, NsAct act, float slope);

/* ---- residual add (op_add.c): out = a + b ------------------------------- */
void ns_add_forward  (float *out, const float *a, const float *b, size_t len);
void ns_add_backward (float *da, float *db, const float *dout, size_t len);

/* ---- nearest-neighbour x2 upsampling (op_upsample.c) -------------------- *
 * in [n][c][h][w] -> out [n][c][2h][2w] */
void ns_upsample2x_forward  (float *out, const float *in, int n, int c, int h, int w);
void ns_upsample2x_row (float *dst, const float *in, int h, int w, int oy, int x0, int x1);
void ns_upsample2x_backward (float *din, const float *dout, int n, int c, int h, int w);

/* ---- bilinear x2 upsampling (op_upsample_bilinear.c) -------------------- *
 * in [n][c][h][w] -> out [n][c][2h][2w], half-pixel centres, edges clamped */
void ns_upsample2x_bilinear_forward  (float *out, const float *in, int n, int c, int h, int w);
void ns_upsample2x_bilinear_row (float *dst, const float *in, int h, int w, int oy,
                                 int x0, int x1);
void ns_upsample2x_bilinear_backward (float *din, const float *dout, int n, int c, int h, int w);

/* ---- 2x2 average pooling (op_avgpool.c) --------------------------------- *
 * in [n][c][h][w] -> out [n][c][h/2][w/2]; an odd last row/column is dropped */
void ns_avgpool2x2_forward  (float *out, const float *in, int n, int c, int h, int w);
void ns_avgpool2x2_backward (float *din, const float *dout, int n, int c, int h, int w);

/* ---- reductions (op_reduce.c) ------------------------------------------- *
 * mean((a-b)^2) and mean(|a-b|) over len values; backward adds
 * scale * d/da into da (and the opposite into db when db != NULL). */
double ns_mse_forward  (const float *a, const float *b, size_t len);
void   ns_mse_backward (float *da, float *db, const float *a, const float *b,
                        size_t len, float scale);
double ns_mae_forward  (const float *a, const float *b, size_t len);
void   ns_mae_backward (float *da, float *db, const float *a, const float *b,
                        size_t len, float scale);

G_END_DECLS
