/* PatchGAN discriminator ("ns-discriminator-1", see ns_arch.h): L convs
 * d<i> 3x3 stride 2 (3 -> c -> 2c -> ... -> c*2^(L-1)), each followed by a
 * leaky ReLU (slope 0.2), then 'out' 3x3 stride 1 -> one logit per patch.
 * Odd kernels and reflection padding only, no norm (so a batch of real and
 * fake patches can be judged separately without leaking statistics).
 *
 * Like the generator, one contiguous parameter block with gradients and
 * Adam moments as parallel blocks, and an arena planned per input size. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "ns_weights.h"

G_BEGIN_DECLS

typedef struct NsDiscriminator NsDiscriminator;

#define NS_DISCRIMINATOR_BASE_CHANNELS 16
#define NS_DISCRIMINATOR_LAYERS        3

NsDiscriminator *ns_discriminator_new  (int base_channels, int layers, guint64 seed,
                                        GError **error);
NsDiscriminator *ns_discriminator_new_from_weights (const NsWeights *w, GError **error);
void             ns_discriminator_free (NsDiscriminator *d);
/* Writes the keys and tensors into an "ns-discriminator-1" NsWeights. */
void             ns_discriminator_to_weights (const NsDiscriminator *d, NsWeights *w);

size_t ns_discriminator_n_params (const NsDiscriminator *d);
float *ns_discriminator_params   (NsDiscriminator *d);
float *ns_discriminator_grads    (NsDiscriminator *d);
float *ns_discriminator_adam_m   (NsDiscriminator *d);
float *ns_discriminator_adam_v   (NsDiscriminator *d);

/* Logits for n planar RGB images of h x w (h, w >= 1); *len_out gets their
 * count.  The pointer is valid until the next forward.  Activations are
 * kept for ns_discriminator_backward. */
const float *ns_discriminator_forward (NsDiscriminator *d, const float *in,
                                       int n, int h, int w, size_t *len_out,
                                       GError **error);
/* ADDS dL/dparams into the grads block and, when din is not NULL, dL/din
 * into din, given dlogits = dL/dlogits of the last forward. */
void         ns_discriminator_backward (NsDiscriminator *d, float *din,
                                        const float *dlogits);
/* The same din alone, the grads block untouched: what the generator's
 * adversarial term needs (the weights' gradients would be half the work). */
void         ns_discriminator_input_grad (NsDiscriminator *d, float *din,
                                          const float *dlogits);

/* ---- adversarial losses -------------------------------------------------- */
typedef enum
{
  NS_GAN_LSGAN,   /* least squares: mean (D - t)^2, t = 1 real, 0 fake */
  NS_GAN_BCE      /* binary cross-entropy on the logits */
} NsGanLoss;

/* The mean loss of logits against target_real; when dlogits is not NULL it
 * is SET to scale * dL/dlogits. */
double ns_gan_loss (NsGanLoss kind, const float *logits, size_t len,
                    gboolean target_real, float *dlogits, float scale);

/* Throttle: while the discriminator's loss (real + fake, averaged over
 * recent steps) is below what "winning too easily" means for the loss kind,
 * it is updated only one step in `every`, so the generator keeps a useful
 * gradient. */
typedef struct
{
  double ema;          /* running mean of the discriminator loss */
  double threshold;
  int    every;
  gboolean started;
} NsGanThrottle;

void     ns_gan_throttle_init   (NsGanThrottle *t, NsGanLoss kind);
gboolean ns_gan_throttle_allows (const NsGanThrottle *t, guint64 step);
void     ns_gan_throttle_record (NsGanThrottle *t, double d_loss);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsDiscriminator, ns_discriminator_free)

G_END_DECLS
