/* Image helpers of the optimisation path (engine/colour.c, engine/resample.c).
 * Internal to the engine: planar float images, colour statistics and
 * transfer, luminance, resizing, blurring and guided upsampling. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "ns_image.h"

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
/* Writes RGB planes back into img's colour channels (grey images get the
 * luminance), clamped to [0, 1]; alpha is left untouched. */
void      ns_planes_to_image_rgb   (const NsPlanes *rgb, NsImage *img);

/* Mean and covariance of the colours of 3 planes of n pixels; only every
 * step-th pixel is visited (step >= 1) so huge images stay cheap. */
void ns_colour_stats (const float *rgb, size_t n, size_t step,
                      double mean[3], double cov[9]);

/* The affine map y = m x + off that moves the colour distribution (mean_a,
 * cov_a) onto (mean_b, cov_b) with the least displacement (the linear
 * Monge-Kantorovich solution, Pitie & Kokaram 2007).  Near-flat images are
 * regularised so the map stays bounded. */
void ns_colour_transfer_map (const double mean_a[3], const double cov_a[9],
                             const double mean_b[3], const double cov_b[9],
                             double m[9], double off[3]);
void ns_colour_apply (float *rgb, size_t n, const double m[9], const double off[3]);

/* In place: RGB <-> (Y, Cb, Cr) of the non-linear values (BT.601 weights). */
void ns_rgb_to_ycc (float *planes, size_t n);
void ns_ycc_to_rgb (float *planes, size_t n);

G_END_DECLS
