/* Training the fast path's generator on CPU:
 *
 *   loss = lambda_adv * L_adv + lambda_content * L_content
 *        + lambda_style * L_style + lambda_stroke * L_stroke
 *        + lambda_chroma * L_chroma + lambda_variation * L_variation
 *        + lambda_tv * L_tv
 *
 * L_content is the structure loss of ns_loss.h (blurred luminance of the
 * photo), L_style the multi-scale sliced Wasserstein distance between the
 * output's colour patches and the style's, L_stroke the same on patches of
 * high-passed luminance (ns_loss_stroke: brush texture, which no recolour
 * can fake), L_chroma the colour layout loss (blurred chroma of the
 * photo, as the network sees it: strokes may carry colour, areas may not
 * change it), L_variation the variation consistency (ns_loss_variation:
 * pairs of the batch hold one crop under two noise draws, whose outputs
 * may differ in strokes, not above them), L_adv the generator's side of a
 * PatchGAN (one discriminator per trained style, updated from random crops
 * of the style image, throttled while it wins too easily).
 *
 * Adam's learning rates hold for the first half of the steps, then fall
 * linearly to a tenth.  Photos are random crops with random horizontal flips; a fixed part of them
 * (chosen from the seed) is held out and scored every validate_every steps.
 * Everything random comes from the seed, so two runs with the same inputs
 * give the same weights; a checkpoint holds the whole state (weights, Adam
 * moments, discriminators, random state) and a resumed run continues
 * exactly where the interrupted one stopped.  Checkpoints and the output are
 * written atomically (temporary file, then rename).
 *
 * Two modes: a new network holding every given style, or add-style, which
 * loads an existing generator, appends one style and trains only that
 * style's gamma/beta rows (every other parameter stays bit-identical).
 *
 * With identity set, the identity row takes its turn among the styles. */
#pragma once
#include <glib.h>
#include "ns_progress.h"
#include "ns_image.h"
#include "ns_discriminator.h"
#include "ns_generator.h"

G_BEGIN_DECLS

/* Called every snapshot_every steps and after the last one with
 * snapshot_photo as the network in training paints it in the first trained
 * style (fed as in training: in that style's palette when the network
 * paints on mapped photos), e.g. to write a sample; sample is the
 * trainer's and lives until the call returns. */
typedef void (*NsTrainSnapshotFunc) (const NsImage *sample, int step, gpointer data);

typedef struct
{
  /* data: decoded by the caller (the engine reads no image files) */
  const NsImage *const *photos;     /* training + validation photos */
  int            n_photos;
  const NsImage *const *styles;     /* one image per style to train */
  const char *const    *style_names;
  int            n_styles;
  /* optional, NULL or one per style (entries may be NULL): where each style
   * came from, and a PNG thumbnail, both stored in the output */
  const char *const    *style_sources;
  const guint8 *const  *style_thumbnails;
  const gsize          *style_thumbnail_lens;

  /* model: a new network ... */
  int         base_channels, res_blocks, out_kernel;
  /* ... or add-style: the styles are appended to this generator file and
   * only their gamma/beta rows are trained */
  const char *add_to;

  /* optimisation */
  int     steps;                  /* total, including any resumed ones */
  int     batch, crop;            /* crops per step, crop side (px, >= 16) */
  int     photo_size;             /* photos are scaled to this short side */
  int     style_size;             /* the style image to this long side */
  float   lr, lr_disc;
  double  lambda_adv, lambda_content, lambda_style, lambda_stroke, lambda_chroma,
          lambda_variation, lambda_tv;
  NsGanLoss gan_loss;
  int     disc_channels, disc_layers;
  float   noise;                  /* variation noise amplitude (new network
                                     only; add-style keeps the base's), 0 = off */
  /* new network only (add-style ignores it): also train the
   * NS_IDENTITY_STYLE row, which returns the photo (loss: lambda_identity *
   * MSE to it), so that inference sets the strength by mixing a style's
   * gamma/beta with it */
  gboolean identity;
  double   lambda_identity;
  double  validation_fraction;    /* of the photos, 0 = none */
  int     validate_every;         /* steps, 0 = never */
  guint64 seed;

  /* files */
  const char *output;             /* the trained .nsw */
  const char *checkpoint;         /* NULL = none */
  int         checkpoint_every;   /* steps */
  gboolean    resume;             /* continue from checkpoint when it exists */

  NsTrainSnapshotFunc snapshot;   /* NULL = none */
  const NsImage *snapshot_photo;  /* what it paints; required with snapshot */
  gpointer    snapshot_data;
  int         snapshot_every;     /* steps, 0 = only after the last */
} NsTrainParams;

typedef struct
{
  int     step, steps;            /* steps done, total */
  double  loss;                   /* generator objective of the last step */
  double  adv, content, style, stroke, chroma, variation, tv;   /* its terms (unweighted) */
  double  disc;                   /* discriminator loss (real + fake), or NaN */
  double  validation;             /* last held-out score (content + style, the
                                     first before step 1), NaN without one */
  double  elapsed_s, eta_s;
} NsTrainStep;

/* The training log: called after every step with its losses. */
typedef void (*NsTrainStepFunc) (const NsTrainStep *step, gpointer data);

/* Defaults: 16 channels, 5 res blocks, 3x3 out; 2000 steps of 4 crops of
 * 128 px from photos scaled to 256; lr 1e-3 / 1e-3; lambdas adv 0.02,
 * content 1, style 1, stroke 5, chroma 0, variation 0, tv 0.02; LSGAN; 10% held out, scored every 100
 * steps; checkpoint every 100 steps; identity row on, weight 10. */
void     ns_train_params_init     (NsTrainParams *p);
gboolean ns_train_params_validate (const NsTrainParams *p, GError **error);

/* Trains and writes p->output.  progress (may be NULL) is the run's
 * progress as for a stylization (ns_progress.h): it hears the fraction of
 * steps done after every step, and its cancel flag is polled before every
 * step: a raised flag writes a checkpoint (when p->checkpoint is set) and
 * returns NS_ERROR_CANCELLED.  on_step (may be NULL) gets every step's
 * losses, for a training log. */
gboolean ns_train (const NsTrainParams *p, const NsProgress *progress,
                   NsTrainStepFunc on_step, gpointer step_data, GError **error);

G_END_DECLS
