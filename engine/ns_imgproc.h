/* Image helpers of the optimisation path (engine/colour.c, engine/resample.c).
 * Internal to the engine: planar float images, colour statistics and
 * transfer, luminance, resizing, blurring and guided upsampling. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "ns_image.h"
#include "ns_ops.h"   /* ns_reflect_index */

G_BEGIN_DECLS

/* A planar image: c planes of h * w floats, one after another. */
typedef struct
{
  int    c, h, w;
  float *data;
} NsPlanes;

/* NULL (with NS_ERROR_NO_MEMORY) when the allocation fails.  Zeroed. */
NsPlanes *ns_planes_new  (int c, int h, int w, GError **error);
void      ns_planes_free (NsPlanes *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsPlanes, ns_planes_free)

/* ---- colour.c ------------------------------------------------------------ */

/* An interleaved NsImage (1..4 channels) as three RGB planes: grey is
 * replicated, alpha dropped. */
NsPlanes *ns_planes_from_image_rgb (const NsImage *img, GError **error);
/* The same into rgb (3 planes of img's width * height). */
void      ns_planes_read_image_rgb (float *rgb, const NsImage *img);
/* Writes RGB planes back into img's colour channels (grey images get the
 * luminance), clamped to [0, 1]; alpha is left untouched. */
void      ns_planes_to_image_rgb   (const NsPlanes *rgb, NsImage *img);

/* Mean and covariance of the colours of 3 planes of n pixels; only every
 * step-th pixel is visited (step >= 1) so huge images stay cheap. */
void ns_colour_stats (const float *rgb, size_t n, size_t step,
                      double mean[3], double cov[9]);
/* The same sums gathered a band at a time: add visits pixels first,
 * first + step, ... of 3 planes of n pixels; in the order of the whole
 * image, the result is ns_colour_stats's to the bit. */
typedef struct
{
  double s[3], ss[9];
  size_t count;
} NsColourSums;
void ns_colour_sums_add    (NsColourSums *sums, const float *rgb, size_t n,
                            size_t first, size_t step);
void ns_colour_sums_result (const NsColourSums *sums, double mean[3], double cov[9]);

/* The affine map y = m x + off that moves the colour distribution (mean_a,
 * cov_a) onto (mean_b, cov_b) with the least displacement (the linear
 * Monge-Kantorovich solution, Pitie & Kokaram 2007).  Near-flat images are
 * regularised so the map stays bounded. */
void ns_colour_transfer_map (const double mean_a[3], const double cov_a[9],
                             const double mean_b[3], const double cov_b[9],
                             double m[9], double off[3]);
void ns_colour_apply (float *rgb, size_t n, const double m[9], const double off[3]);

/* A luminance histogram: NS_LUMA_BINS bins over [0, 1] (values outside go
 * to the end bins), weights summing to 1; every step-th of n pixels. */
#define NS_LUMA_BINS 256
void ns_luma_histogram (const float *rgb, size_t n, size_t step,
                        double hist[NS_LUMA_BINS]);

/* The presets' palette map: moves the colours of the n RGB-plane pixels of
 * x, whose distribution is (mean_x, cov_x), onto (mean, cov) at strength t
 * in [0, 1] (0 leaves x as it is), with the contrast along any colour axis
 * stretched at most 2x and the values rolled off softly into (0, 1).  With
 * a painting's luminance histogram (luma, or NULL), a tone curve then moves
 * x's luminance quantiles part of the way onto the painting's (a night
 * scene stays dark where the mean and covariance alone lift it), its slope
 * held within [1/2, 2], the chroma untouched. */
void ns_palette_map (float *x, size_t n, const double mean_x[3], const double cov_x[9],
                     const double mean[3], const double cov[9],
                     const double luma[NS_LUMA_BINS], double t);

/* Luminance of 3 RGB planes of n pixels with the BT.601 weights, and its
 * adjoint (the backward pass: drgb += weights * dy). */
void ns_luma          (float *y, const float *rgb, size_t n);
void ns_luma_backward (float *drgb, const float *dy, size_t n);

/* In place: RGB <-> (Y, Cb, Cr) of the non-linear values (BT.601 weights). */
void ns_rgb_to_ycc (float *planes, size_t n);
void ns_ycc_to_rgb (float *planes, size_t n);
/* result's luminance with photo's chroma, into result (both 3 planes of n
 * pixels; photo is converted to YCbCr in place) */
void ns_keep_chroma (float *result, float *photo, size_t n);

/* ---- resample.c ---------------------------------------------------------- */

/* (h, w) scaled so that the long side is side: the working size of both
 * paths and of the pictures stored with presets. */
void ns_fit_long_side (int h, int w, int side, int *oh, int *ow);
/* src resized to h x w (a new image, NULL with NS_ERROR_NO_MEMORY): halved
 * with a 2x2 box while 4x or more too big, then ns_resize. */
NsPlanes *ns_planes_resized (const NsPlanes *src, int h, int w, GError **error);

/* Separable Keys-cubic resampling of c planes (sh x sw -> dh x dw); the
 * kernel widens when shrinking, so downscaling is antialiased. */
void ns_resize (const float *src, int c, int sh, int sw,
                float *dst, int dh, int dw);
/* Gaussian blur of c planes with mirrored borders, and its exact adjoint
 * (the backward pass: dsrc += B^T ddst), both through tmp (h * w floats). */
void ns_blur_forward  (float *dst, const float *src, int c, int h, int w,
                       float sigma, float *tmp);
void ns_blur_backward (float *dsrc, const float *ddst, int c, int h, int w,
                       float sigma, float *tmp);
/* 2x2 box downsampling to (MAX(1, h/2), MAX(1, w/2)); a dimension of 1
 * stays 1, an odd last row/column is dropped.  Backward adds. */
void ns_down2_forward  (float *dst, const float *src, int c, int h, int w);
void ns_down2_backward (float *dsrc, const float *ddst, int c, int h, int w);
/* 2x downsampling to (MAX(1, h/2), MAX(1, w/2)) with the binomial filter
 * [1 3 3 1] / 8 per axis, mirrored borders.  Unlike the 2x2 box, its
 * adjoint (backward, adds) spreads a gradient smoothly over 4x4 pixels, so
 * optimising through it leaves no 2x2 block pattern. */
void ns_down2_smooth_forward  (float *dst, const float *src, int c, int h, int w);
void ns_down2_smooth_backward (float *dsrc, const float *ddst, int c, int h, int w);
/* Box mean over a (2r+1)^2 window clipped to the image, of one plane. */
void ns_box_mean (float *dst, const float *src, int h, int w, int r, float *tmp);

/* Brings a result computed at low resolution to full resolution with the
 * full-resolution photo as guide: per channel, the low-resolution result is
 * explained by a local affine function of the guide (a guided filter,
 * He et al. 2010) plus a residual; the coefficients and the residual are
 * upsampled, and the affine part is applied to the sharp guide.  Edges and
 * fine detail come from the photo, colours and painted texture from the
 * result.  hi holds the full-resolution guide on entry and the result on
 * return.  FALSE (NS_ERROR_NO_MEMORY / NS_ERROR_CANCELLED) leaves hi
 * partly written. */
/* the window radius (low-resolution px) and regulariser every result of the
 * engine is brought up with */
#define NS_GUIDE_RADIUS 2
#define NS_GUIDE_EPS    1e-3f
gboolean ns_guided_upsample (NsPlanes *hi, const NsPlanes *guide_lo,
                             const NsPlanes *result_lo, int radius, float eps,
                             const volatile gint *cancel, GError **error);

/* The same a band of full-size rows at a time (ns_guided_upsample is built
 * on it, so the two agree to the bit): new computes the coefficients at the
 * low resolution for an H x W result; rows turns rows y0 .. y0 + n - 1
 * (y0 a multiple of band_rows, n <= band_rows) of the guide into the
 * result's, in place, channel k's
 * first row at hi + k * plane_stride.  Its memory is set by the low
 * resolution, W and band_rows, not by H. */
typedef struct _NsGuidedUp NsGuidedUp;
NsGuidedUp *ns_guided_up_new  (const NsPlanes *guide_lo, const NsPlanes *result_lo,
                               int H, int W, int radius, float eps, int band_rows,
                               GError **error);
void        ns_guided_up_rows (NsGuidedUp *up, float *hi, gsize plane_stride, int y0,
                               int n);
void        ns_guided_up_free (NsGuidedUp *up);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsGuidedUp, ns_guided_up_free)

/* Rows y0 .. y0 + n - 1 of a full-size image as c planes of n rows each
 * (plane k at planes + k * n * width). */
typedef void (*NsRowsFunc) (gpointer data, int y0, int n, float *planes);
/* The H x W image rows reads, band_rows at a time, resized to h x w with
 * the sums of ns_planes_resized (halve) or of ns_resize (!halve), to the
 * bit; only the last halving (or, without one, the rows resized across) is
 * held whole.  NULL with NS_ERROR_NO_MEMORY or NS_ERROR_CANCELLED (*cancel
 * is polled between bands). */
NsPlanes *ns_rows_resized (NsRowsFunc rows, gpointer data, int c, int H, int W,
                           int h, int w, gboolean halve, int band_rows,
                           const volatile gint *cancel, GError **error);

G_END_DECLS
