/* The network architectures a weight file can hold, and the exact tensors
 * (names and shapes) each one needs.  Documented in weights/FORMAT.md. */
#pragma once
#include <glib.h>
#include "ns_weights.h"

G_BEGIN_DECLS

/* Johnson-style generator with conditional instance norm.  Keys:
 * "base_channels" (c), "res_blocks" (R); the style list gives n_styles;
 * optional "out_kernel" (odd 1..9, default 9) and "upsample" (the decoder's
 * x2: NS_ARCH_UPSAMPLE_NEAREST, the default, or NS_ARCH_UPSAMPLE_BILINEAR). */
#define NS_ARCH_GENERATOR     "ns-generator-1"
#define NS_ARCH_UPSAMPLE_NEAREST  "nearest"
#define NS_ARCH_UPSAMPLE_BILINEAR "bilinear"
/* PatchGAN discriminator of odd-kernel convs.  Keys: "base_channels" (c),
 * "layers" (number of 3x3 stride-2 convs). */
#define NS_ARCH_DISCRIMINATOR "ns-discriminator-1"

/* Upper bounds of the hyper-parameters: they keep every tensor far below
 * NS_WEIGHTS_MAX_BYTES and every dimension within an int. */
#define NS_ARCH_MAX_BASE_CHANNELS 256
#define NS_ARCH_MAX_RES_BLOCKS    32
#define NS_ARCH_MAX_STYLES        256
#define NS_ARCH_MAX_DISC_LAYERS   6

typedef struct
{
  gchar *name;                          /* e.g. "res0.conv1.weight" */
  int    ndim;
  int    dims[NS_WEIGHTS_MAX_DIMS];
} NsArchTensor;

/* The tensors w's architecture needs for its hyper-parameters and styles, in
 * canonical order: a GPtrArray of NsArchTensor that frees them with itself.
 * A trainer can allocate its parameter block from it.  NULL with
 * NS_ERROR_FORMAT for an unknown architecture or a missing or out-of-range
 * hyper-parameter. */
GPtrArray *ns_arch_tensors (const NsWeights *w, GError **error);

/* TRUE when w holds exactly the tensors ns_arch_tensors lists, with those
 * shapes; NS_ERROR_SHAPE naming the first missing, extra or wrong-shaped
 * tensor; NS_ERROR_FORMAT as ns_arch_tensors. */
gboolean   ns_arch_check   (const NsWeights *w, GError **error);

/* A generator file's "upsample": *bilinear TRUE or FALSE (also when the key
 * is absent); NS_ERROR_FORMAT for another value. */
gboolean   ns_arch_generator_bilinear (const NsWeights *w, gboolean *bilinear,
                                       GError **error);

/* Network files: the container (ns_weights.h) checked against the
 * catalogue, so that no file the loader would refuse is ever written.
 * NULL / FALSE and a GError on any problem; errors name the file. */
NsWeights *ns_weights_load (const char *path, GError **error);
/* The same from memory; name stands for the file in error messages. */
NsWeights *ns_weights_load_from_data (const guint8 *data, gsize len,
                                      const char *name, GError **error);
GBytes    *ns_weights_to_bytes (const NsWeights *w, GError **error);
gboolean   ns_weights_save (const NsWeights *w, const char *path, GError **error);

G_END_DECLS
