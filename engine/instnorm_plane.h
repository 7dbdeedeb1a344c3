/* One plane of instance norm's backward, shared by op_instnorm.c and
 * op_cond_instnorm.c (private to the engine). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* dx += d(loss)/dx of the plane x (when dx is not NULL), from its dout g,
 * saved mean m and rstd r and the channel's gamma; *sum_g = sum g and
 * *sum_gx = sum g * xhat (the plane's dbeta and dgamma). */
void ns_instnorm_plane_backward (float *dx, const float *x, const float *g, float m,
                                 float r, float gamma, int hw, double *sum_g,
                                 double *sum_gx);

G_END_DECLS
