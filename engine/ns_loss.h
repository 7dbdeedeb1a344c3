/* Losses of the optimisation path.  None needs a pretrained network.
 *
 * Every loss takes the image x as c planes of h x w floats and returns its
 * value; when grad is not NULL it ADDS scale * dL/dx into grad (same layout
 * as x).  Scratch memory comes from an NsLossWork that is reused across
 * calls; when an allocation fails the loss returns 0, adds nothing and sets
 * work->out_of_memory, which the caller turns into NS_ERROR_NO_MEMORY. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "ns_rng.h"

G_BEGIN_DECLS

/* slots 0..8 are shared by the losses below (one loss at a time); the stroke
 * loss keeps its planes in NS_STROKE_SLOT.. while it calls the SWD */
#define NS_LOSS_WORK_SLOTS 13
#define NS_STROKE_SLOT     9
#define NS_SWD_BINS_SLOT   12   /* the SWD's histograms (bin_width > 0) */

typedef struct
{
  void    *buf[NS_LOSS_WORK_SLOTS];
  size_t   size[NS_LOSS_WORK_SLOTS];
  gboolean out_of_memory;
} NsLossWork;

/* A buffer of at least bytes in slot (grown, never shrunk), or NULL. */
void *ns_loss_work_get   (NsLossWork *work, int slot, size_t bytes);
void  ns_loss_work_clear (NsLossWork *work);

/* ---- local patches (loss_swd.c) ----------------------------------------- *
 * A patch is the k x k x c neighbourhood centred on a pixel, borders
 * mirrored, flattened channel-major ([c][k][k]).  pos holds (y, x) pairs. */
int  ns_patches_grid    (int *pos, int h, int w, int stride, int oy, int ox);
void ns_patches_gather  (float *cols, const float *img, int c, int h, int w,
                         int k, const int *pos, int n);
/* adjoint of gather: grad += patches scattered back */
void ns_patches_scatter (float *grad, const float *dcols, int c, int h, int w,
                         int k, const int *pos, int n);

/* ---- sliced Wasserstein distance of patch distributions (loss_swd.c) ----- *
 * Patches of x (one at a random place in each cell of a grid whose stride
 * grows until at most max_samples patches remain) and of the style (all of them, or
 * max_samples drawn at random) are projected on `projections` random unit
 * directions drawn from rng; each projection's sorted values of x are moved
 * toward the style's at the same quantiles.  L = mean squared difference
 * over patches and projections (units: squared values).  Works on any
 * vectors per pixel: raw colours (k > 1) or feature maps (k = 1). */
typedef struct
{
  int patch;          /* k, odd, >= 1 */
  int projections;    /* random directions per call */
  int max_samples;    /* patches used per call on each side */
  /* 0: x's projections are sorted and paired with the style's one to one.
   * > 0: they are counted in bins of this width (or range / NS_SWD_MAX_BINS
   * if wider), and every value in a bin is moved toward the mean of the
   * style's values over the quantiles the bin covers: the same pairing up
   * to the bin width, without a sort, and values that are equal (a flat
   * area) get one target, where a sort would send them to different ones
   * by their noise. */
  float bin_width;
} NsSwdConfig;

#define NS_SWD_MAX_BINS 4096

double ns_loss_swd (float *grad, float scale, const float *x, int c, int h, int w,
                    const float *style, int sh, int sw,
                    const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work);

/* The style side of the SWD kept over several calls: the directions and the
 * style's sorted projections on them.  The style is fixed while an image
 * is optimised, so re-sorting it at every step is wasted; x's side is
 * drawn and sorted at every call. */
typedef struct
{
  float *dirs;        /* [d][m] */
  float *svals;       /* [m][ns] */
  int    d, m, ns;
  int    calls_left;  /* calls before new directions are drawn */
} NsSwdKept;

/* ns_loss_swd, with the directions and the style's side drawn afresh only
 * every keep_calls calls (kept in *kept; zero it first, clear it after). */
double ns_loss_swd_kept (float *grad, float scale, const float *x, int c, int h,
                         int w, const float *style, int sh, int sw,
                         const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work,
                         NsSwdKept *kept, int keep_calls);
void   ns_swd_kept_clear (NsSwdKept *kept);


/* ---- brush strokes (loss_stroke.c) ------------------------------------- *
 * The SWD (cfg, one channel) between k x k patches of the high-passed
 * luminance, luma - blur_sigma(luma), of x (3 RGB planes) and the style's,
 * computed once by ns_stroke_target (sh x sw floats).  Zero for every flat
 * colour, so a recolour cannot satisfy it, only texture can.
 * ns_stroke_target returns FALSE when out of memory. */
gboolean ns_stroke_target (float *hp, const float *rgb, int h, int w, float sigma,
                           NsLossWork *work);
double   ns_loss_stroke   (float *grad, float scale, const float *x, int h, int w,
                           const float *style_hp, int sh, int sw, float sigma,
                           const NsSwdConfig *cfg, NsRng *rng, NsLossWork *work);

/* ---- a fixed random conv layer as features (random_features.c) ---------- *
 * features = relu(conv_k(x, W) + b), W drawn from a seed (zero-mean
 * filters), reflect padding.  The loss is the SWD (k = 1) between the
 * feature vectors of x and of the style (style_feat: out_c planes of
 * sh x sw, from ns_random_features_forward).  The net keeps its own
 * buffers in rf->work; work is what ns_loss_swd uses. */
typedef struct
{
  int    in_c, out_c, k;
  float *weight, *bias;    /* [out_c][in_c][k][k], [out_c] */
  NsLossWork work;
} NsRandomFeatures;

gboolean ns_random_features_init    (NsRandomFeatures *rf, int in_c, int out_c, int k,
                                     guint32 seed, GError **error);
void     ns_random_features_clear   (NsRandomFeatures *rf);
/* feat: out_c planes of h x w.  FALSE when out of memory. */
gboolean ns_random_features_forward (const NsRandomFeatures *rf, float *feat,
                                     const float *x, int h, int w, NsLossWork *work);
double   ns_loss_random_features    (float *grad, float scale, const float *x, int h, int w,
                                     const float *style_feat, int sh, int sw,
                                     NsRandomFeatures *rf, const NsSwdConfig *cfg,
                                     NsRng *rng, NsLossWork *work);

/* ---- Gram matrix of patches (loss_gram.c) ------------------------------- *
 * The seeds' second-order loss: G = P^T P / N over k x k x c patches P (on
 * a grid of at most max_samples, random offset), L = mean (G - G_style)^2.
 * ns_gram_target computes G_style ((c k k)^2 floats) once per style. */
gboolean ns_gram_target (float *gram, const float *style, int c, int h, int w,
                         int k, int max_samples, NsLossWork *work);
double   ns_loss_gram   (float *grad, float scale, const float *x, int c, int h, int w,
                         const float *target, int k, int max_samples,
                         NsRng *rng, NsLossWork *work);

/* ---- structure (loss_content.c) ----------------------------------------- *
 * L = mean over pixels of (blur(luma(x)) - target)^2, target = the blurred
 * luminance of the photo: keeps shapes and edges at the scale of sigma,
 * leaves colours and finer brush texture free.  x has 3 planes (RGB). */
void   ns_content_target (float *target, const float *rgb, int h, int w,
                          float sigma, NsLossWork *work);
double ns_loss_content   (float *grad, float scale, const float *x, int h, int w,
                          const float *target, float sigma, NsLossWork *work);

/* ---- colour layout (loss_chroma.c) -------------------------------------- *
 * L = mean over pixels and planes of (blur(chroma(x)) - target)^2, chroma =
 * each RGB plane minus the luminance, target = the photo's blurred chroma
 * (3 planes): keeps where the photo's colours are at the scale of sigma,
 * leaves brightness to the structure loss and strokes' colour free. */
void   ns_chroma_target (float *target, const float *rgb, int h, int w,
                         float sigma, NsLossWork *work);
double ns_loss_chroma   (float *grad, float scale, const float *x, int h, int w,
                         const float *target, float sigma, NsLossWork *work);

/* ---- variation consistency (loss_variation.c) --------------------------- *
 * L = mean over pixels of (r(a) - r(b))^2, r = the local contrast
 * sqrt(blur_sigma(hp^2) + 1e-6), hp = luma less its blur over stroke_sigma:
 * two outputs of one photo under two noise draws may lay their strokes
 * elsewhere, not more or fewer of them in a place.  a and b are RGB;
 * grad_a and grad_b (either may be NULL) get scale * dL/da and dL/db added. */
double ns_loss_variation (float *grad_a, float *grad_b, float scale, const float *a,
                          const float *b, int h, int w, float stroke_sigma,
                          float sigma, NsLossWork *work);

/* ---- total variation (loss_tv.c) ---------------------------------------- *
 * L = sum of squared differences of horizontal and vertical neighbours,
 * divided by c * h * w. */
double ns_loss_tv (float *grad, float scale, const float *x, int c, int h, int w);

/* ---- lone dots (loss_dots.c) --------------------------------------------- *
 * L = sum over interior pixels of (x - mean of the 4 neighbours)^2, divided
 * by c * h * w: costs single-pixel dots far more than edges or strokes. */
double ns_loss_dots (float *grad, float scale, const float *x, int c, int h, int w);

G_END_DECLS
