/* The fast path's feed-forward generator ("ns-generator-1", see ns_arch.h):
 *
 *   enc1 9x9 3->c, enc2 3x3/2 c->2c, enc3 3x3/2 2c->4c,
 *   R residual blocks (3x3 4c->4c twice), dec1 (x2 nearest, 3x3 4c->2c),
 *   dec2 (x2 nearest, 3x3 2c->c), out k x k c->3 (k = out_kernel),
 *
 * reflection padding everywhere, conditional instance norm (one gamma/beta
 * row per style) and ReLU after every conv but 'out' (the second conv of a
 * residual block has no ReLU).  The output is
 *   sigmoid (out(h) + logit (photo))
 * so the network learns a change over the photo: with 'out' initialised
 * small an untrained network returns the photo, and the result always lies
 * in (0, 1).
 *
 * Images are planar float RGB in [0, 1], [n][3][h][w], any h, w >= 1 (sizes
 * that are not multiples of 4 are reflection-padded inside and cropped).
 *
 * The model owns ONE contiguous block of parameters, in the canonical tensor
 * order of ns_arch_tensors; the gradients and the two Adam moments are
 * parallel blocks of the same layout.  Activations (and their gradients
 * when training) live in one arena planned for an input size and reused
 * while the size stays; one im2col workspace serves every layer.  The plan
 * is state: one thread at a time per NsGenerator. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include "ns_arch.h"      /* a checked network file */
#include "ns_image.h"
#include "ns_ops.h"
#include "ns_progress.h"

G_BEGIN_DECLS

typedef struct NsGenerator NsGenerator;

/* The internal style row that returns the photo (trained with the presets,
 * see ns_trainer.h): mixing a style's row with it sets the strength. */
#define NS_IDENTITY_STYLE "(identity)"

/* Where a preset file's palette map goes (optional string key): "before",
 * on the photo the network then paints on (what the trainer writes: the
 * network learns strokes, not colours), or "after", on its result (files
 * without the key).  The map moves the colours onto the painting's. */
#define NS_PALETTE_MAP_KEY    "palette_map"
#define NS_PALETTE_MAP_BEFORE "before"
#define NS_PALETTE_MAP_AFTER  "after"

typedef struct
{
  int base_channels;   /* c */
  int res_blocks;      /* R */
  int n_styles;        /* rows of every gamma/beta */
  int out_kernel;      /* odd, 1..9; 0 means 9, the architecture's default */
  gboolean bilinear;   /* the decoder's x2 upsampling: bilinear, or nearest
                        * (the default, for files without the key) */
} NsGeneratorConfig;

/* What the trainer builds by default: 77.8 GFLOP per megapixel, 0.7-0.9 s
 * for 1 MP on 2 cores (docs/generator.md). */
#define NS_GENERATOR_BASE_CHANNELS 16
#define NS_GENERATOR_RES_BLOCKS    5
#define NS_GENERATOR_OUT_KERNEL    3
/* nearest-neighbour copies left a 4 px dot grid under the strokes */
#define NS_GENERATOR_BILINEAR      TRUE

/* A new network with freshly initialised parameters (He-normal convs,
 * gamma 1, beta 0, 'out' scaled down) drawn from seed.
 * NS_ERROR_INVALID_ARGUMENT for sizes outside arch.c's ranges. */
NsGenerator *ns_generator_new  (const NsGeneratorConfig *cfg, guint64 seed,
                                GError **error);
/* From a loaded "ns-generator-1" weight file (already shape-checked). */
NsGenerator *ns_generator_new_from_weights (const NsWeights *w, GError **error);
void         ns_generator_free (NsGenerator *g);

/* Writes every tensor, the architecture keys and (when set) the noise
 * amplitude into w, an "ns-generator-1" NsWeights holding the config's
 * styles. */
void         ns_generator_to_weights (const NsGenerator *g, NsWeights *w);

const NsGeneratorConfig *ns_generator_config (const NsGenerator *g);

/* The parameter block and its parallel blocks (n floats each).  grads and
 * the moments are zero after creation. */
size_t  ns_generator_n_params (const NsGenerator *g);
float  *ns_generator_params   (NsGenerator *g);
float  *ns_generator_grads    (NsGenerator *g);
float  *ns_generator_adam_m   (NsGenerator *g);
float  *ns_generator_adam_v   (NsGenerator *g);
/* mask[i] = 1 where parameter i is a gamma/beta entry of style s, else 0
 * (add-style training updates only those). */
void    ns_generator_style_mask (const NsGenerator *g, int style, guint8 *mask);

/* Variations: enc1 sees the photo plus the variation noise of seed (the
 * skip into 'out' stays clean), so a network trained with noise paints a
 * different texture for each seed.  A network loaded from weights gets the
 * amplitude it was trained with ("noise" key) and seed 0. */
void    ns_generator_set_noise (NsGenerator *g, float amplitude, guint64 seed);
float   ns_generator_noise     (const NsGenerator *g);
/* The variation noise, one h x w plane added to all three channels: white
 * Gaussian noise blurred over NS_GENERATOR_NOISE_SIGMA px, less its own
 * blur over NS_GENERATOR_NOISE_BAND_SIGMA px, scaled to a standard
 * deviation of amplitude.  The same in every channel and smooth, so it can
 * seed strokes in flat areas (what a painting has and a photo's flat sky
 * lacks) but not the per-pixel colour confetti that independent noise per
 * channel trained into; band-limited, so it has no blobs wider than a
 * stroke to be painted as dark clusters.  tmp: 2 * h * w floats. */
#define NS_GENERATOR_NOISE_SIGMA      1.0f
#define NS_GENERATOR_NOISE_BAND_SIGMA 2.0f
void    ns_generator_variation_noise (float *plane, int h, int w, float amplitude,
                                      guint64 seed, float *tmp);

/* Floating-point operations of one forward pass on an h x w image. */
double  ns_generator_flops (const NsGenerator *g, int h, int w);

/* The conv layers (enc1 ... out), for benchmarks: the name of layer i in
 * [0, n_layers) and, when planned, its conv's shape (else zeros). */
int         ns_generator_n_layers (const NsGenerator *g);
const char *ns_generator_layer    (const NsGenerator *g, int i, NsConv2dShape *shape);

/* Sizes the arena for n images of h x w; with training, also room for the
 * activation gradients.  Cheap when nothing changed; forward calls it. */
gboolean ns_generator_plan (NsGenerator *g, int n, int h, int w,
                            gboolean training, GError **error);
/* The memory the plan's buffers hold (they are reused by a later plan
 * that fits in them and freed with g). */
size_t   ns_generator_plan_bytes (const NsGenerator *g);

/* out = G(in) for n planar RGB images; mix has n_styles weights (one-hot: a
 * preset; two non-zero: a blend of styles).  out may not alias in.  With
 * training the activations are kept for ns_generator_backward. */
gboolean ns_generator_forward (NsGenerator *g, float *out, const float *in,
                               const float *mix, int n, int h, int w,
                               gboolean training, GError **error);

/* The run's progress, whose cancel flag the forward polls between layers
 * (every ~0.1 s on a megapixel); once raised the forward returns FALSE with
 * NS_ERROR_CANCELLED.  NULL = none.  The pointer is kept until changed. */
void     ns_generator_set_progress (NsGenerator *g, const NsProgress *progress);

/* Convenience for front ends: stylizes an interleaved image in place (its
 * colour channels are replaced, alpha is left as it was, a grey image gets
 * the result's luminance).  Memory: ~240 bytes per pixel for the default
 * network (the arena stays until the size changes or g is freed); tile
 * larger images. */
gboolean ns_generator_apply (NsGenerator *g, NsImage *img, const float *mix,
                             GError **error);

/* After a training forward: ADDS dL/dparams into the grads block and, when
 * din is not NULL, dL/din into din, given dout = dL/dout. */
void    ns_generator_backward (NsGenerator *g, float *din, const float *dout);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsGenerator, ns_generator_free)

G_END_DECLS
