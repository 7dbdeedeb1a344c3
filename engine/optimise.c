/* The optimiser of the any-image path, on planes (ns_optimise.h).
 *
 * At the working size and coarse to fine over an image pyramid of stages
 * (or at the working size only, to refine), the image is optimised (Adam
 * or L-BFGS) on
 *   alpha * W_CONTENT * L_content + beta * W_STYLE * L_style + W_TV * L_tv
 *     + W_DOTS * L_dots
 * starting from the content, each finer stage from the coarser result
 * upsampled with the stage's content as guide (see docs/optimisation.md).
 * L_style is the mean over up to 4 scales (smooth 2x pyramid) of the
 * sliced Wasserstein distance of 7x7 colour patches plus that of single
 * pixels (the palette); L_content compares blurred luminance. */
#include "ns_optimise.h"
#include "ns_error.h"
#include "ns_imgproc.h"
#include "ns_loss.h"
#include "ns_optim.h"
#include <math.h>
#include <string.h>

/* steps per pyramid stage; the coarsest of several takes twice as many
 * (each costs a sixteenth of a step at the working size) */
#define NS_DEFAULT_ITERATIONS  30
#define MAX_STAGES             3
#define MIN_STAGE_SIDE         64    /* a coarser stage is not worth it */
#define MAX_SCALES             4     /* scales of the style loss per stage */

/* Internal weights, so that alpha = beta = 1 is a balanced default: the
 * content loss is a mean squared luminance difference (~1e-3 once the
 * style has acted), the style losses are mean squared projected-patch
 * differences of a similar size. */
/* 0.1 before each stage started from a guided upsampling (see
 * stage_start): the photo's edges now come back at every stage, and half
 * the weight keeps the structure of the old default (docs/optimisation.md) */
#define W_CONTENT   0.05
#define W_STYLE     1.0
/* TV only damps single-pixel noise: stronger, it erases the brush texture */
#define W_TV        0.001
/* lone dots (loss_dots.c): a smoothness prior that spares strokes.  Once
 * the palette pulled every pixel (PALETTE_BIN_WIDTH), 0.03 cost texture
 * (0.538 over the eval pairs) and 0.01 left more dots (0.0037 against the
 * paintings' 0.0034); 0.02 keeps both (docs/optimisation.md).  The TV at a
 * strength that removes as many dots erases the texture. */
#define W_DOTS      0.02
#define CONTENT_SIGMA 1.5f          /* px at the stage's size */

#define SWD_PATCH        7
#define SWD_PROJECTIONS  64
/* patches per side and call: a quarter of the 32768 of before, for the
 * same scores (the draws change every step; Adam averages them) */
#define SWD_MAX_SAMPLES  (1 << 13)
/* steps that share one draw of directions and the style's sorted
 * projections (ns_loss_swd_kept): the style's side is made once per block */
#define SWD_KEEP_STEPS   4
/* single-pixel SWD (the palette), relative weight and directions */
#define W_PALETTE            1.0
#define PALETTE_PROJECTIONS  16
/* the style's pixels per call */
#define PALETTE_MAX_SAMPLES  (1 << 15)
/* The palette pairs x's pixels with the style's through bins of half an
 * 8-bit level (NsSwdConfig.bin_width), so it pulls every pixel at every
 * step and equal colours toward one target.  Sorted, it could only afford
 * a sample (one pixel in 9 at 512 px): the few pulled each step, and the
 * pixels of a flat area that their noise ranked toward different colours,
 * became the confetti (isolated dots 0.0098 -> 0.0027 over the eval pairs,
 * docs/optimisation.md). */
#define PALETTE_BIN_WIDTH    (1.0f / 512)
/* Style loss on a fixed random conv layer's features (random_features.c),
 * weight relative to the patch SWD.  Off: on details_048 x cafe-terrace it
 * moved style_match 0.506 -> 0.522 and texture 0.368 -> 0.386 but tripled
 * the time (see docs/optimisation.md). */
#define W_FEATURES  0.0
#define RF_CHANNELS 32
#define RF_KERNEL   5
#define RF_SEED 20261121u
#define GRAM_PATCH       5
#define GRAM_MAX_SAMPLES (1 << 15)
#define ADAM_LR          0.02f
/* Adam's step decays (cosine) to this fraction within each stage */
#define ADAM_LR_FINAL    0.05
#define LBFGS_HISTORY    8
#define LBFGS_BLOCK      10          /* steps with the same projections */


static gboolean
out_of_memory (GError **error)
{
  g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
               "Out of memory while stylizing");
  return FALSE;
}

/* Everything the objective needs at one stage of the pyramid. */
typedef struct
{
  const NsParams *p;
  int       h, w, n_scales;
  int       lh[MAX_SCALES], lw[MAX_SCALES];
  float    *level[MAX_SCALES];       /* x downsampled; level[0] unused */
  float    *dlevel[MAX_SCALES];      /* their gradients */
  NsPlanes *style[MAX_SCALES];       /* the style at each scale */
  float    *gram[MAX_SCALES];        /* Gram targets (gram loss only) */
  NsRandomFeatures *rf;              /* random features, or NULL */
  float    *style_feat[MAX_SCALES];  /* the style's features at each scale */
  float    *content_target;
  NsRng     rng, rng_block;          /* rng_block: fixed draws for L-BFGS */
  gboolean  fixed_draws;
  NsLossWork work;
  NsSwdKept kept[MAX_SCALES][2];     /* the style's side: patches, palette */
  double    l_content, l_style, l_tv;
} Stage;

static void
stage_clear (Stage *st)
{
  for (int s = 0; s < MAX_SCALES; s++)
    {
      g_free (st->level[s]);
      g_free (st->dlevel[s]);
      ns_planes_free (st->style[s]);
      g_free (st->gram[s]);
      g_free (st->style_feat[s]);
    }
  g_free (st->content_target);
  ns_loss_work_clear (&st->work);
  for (int s = 0; s < MAX_SCALES; s++)
    for (int i = 0; i < 2; i++)
      ns_swd_kept_clear (&st->kept[s][i]);
  memset (st, 0, sizeof *st);
}

static gboolean
gram_loss (const NsParams *p)
{
  return p->style_loss == NS_STYLE_LOSS_GRAM;
}

/* Scales of the style loss: halve while both sides keep two patches. */
static int
count_scales (int h, int w, int patch)
{
  int n = 1;
  while (n < MAX_SCALES && MIN (h, w) / 2 >= 2 * patch)
    {
      h /= 2;
      w /= 2;
      n++;
    }
  return n;
}

static gboolean
stage_init (Stage *st, const NsParams *p, const NsPlanes *content,
            const NsPlanes *style_full, NsRandomFeatures *rf, NsRng *rng,
            GError **error)
{
  memset (st, 0, sizeof *st);
  st->p = p;
  st->rf = gram_loss (p) ? NULL : rf;
  st->h = content->h;
  st->w = content->w;
  st->rng = *rng;
  gboolean gram = p->style_loss == NS_STYLE_LOSS_GRAM;
  int patch = gram ? GRAM_PATCH : SWD_PATCH;
  st->n_scales = count_scales (st->h, st->w, patch);

  /* the style at the stage's scale: the same long side */
  int sh, sw;
  ns_fit_long_side (style_full->h, style_full->w, MAX (st->h, st->w), &sh, &sw);
  st->style[0] = ns_planes_resized (style_full, sh, sw, error);
  if (!st->style[0])
    return FALSE;
  st->lh[0] = st->h;
  st->lw[0] = st->w;
  for (int s = 1; s < st->n_scales; s++)
    {
      st->lh[s] = MAX (1, st->lh[s - 1] / 2);
      st->lw[s] = MAX (1, st->lw[s - 1] / 2);
      gsize n = (gsize) 3 * st->lh[s] * st->lw[s];
      st->level[s] = g_try_malloc_n (n, sizeof (float));
      st->dlevel[s] = g_try_malloc_n (n, sizeof (float));
      const NsPlanes *prev = st->style[s - 1];
      st->style[s] = ns_planes_new (3, MAX (1, prev->h / 2), MAX (1, prev->w / 2), error);
      if (!st->level[s] || !st->dlevel[s] || !st->style[s])
        return st->style[s] ? out_of_memory (error) : FALSE;
      ns_down2_smooth_forward (st->style[s]->data, prev->data, 3, prev->h, prev->w);
    }
  if (st->rf)
    for (int s = 0; s < st->n_scales; s++)
      {
        const NsPlanes *sty = st->style[s];
        st->style_feat[s] = g_try_malloc_n ((gsize) rf->out_c * sty->h * sty->w,
                                            sizeof (float));
        if (!st->style_feat[s]
            || !ns_random_features_forward (rf, st->style_feat[s], sty->data,
                                            sty->h, sty->w, &rf->work))
          return out_of_memory (error);
      }
  if (gram)
    for (int s = 0; s < st->n_scales; s++)
      {
        int d = 3 * patch * patch;
        st->gram[s] = g_try_malloc_n ((gsize) d * d, sizeof (float));
        if (!st->gram[s]
            || !ns_gram_target (st->gram[s], st->style[s]->data, 3, st->style[s]->h,
                                st->style[s]->w, patch, GRAM_MAX_SAMPLES, &st->work))
          return out_of_memory (error);
      }
  st->content_target = g_try_malloc_n ((gsize) st->h * st->w, sizeof (float));
  if (!st->content_target)
    return out_of_memory (error);
  ns_content_target (st->content_target, content->data, st->h, st->w,
                     CONTENT_SIGMA, &st->work);
  return !st->work.out_of_memory || out_of_memory (error);
}

/* The objective at one stage: value, and its gradient into grad. */
static double
objective (const float *x, float *grad, gpointer data)
{
  Stage *st = data;
  const NsParams *p = st->p;
  gsize n = (gsize) 3 * st->h * st->w;
  memset (grad, 0, sizeof (float) * n);
  if (st->fixed_draws)
    st->rng = st->rng_block;

  double style = 0;
  if (p->beta > 0)
    {
      float scale = (float) (p->beta * W_STYLE / st->n_scales);
      NsSwdConfig cfg = { SWD_PATCH, SWD_PROJECTIONS, SWD_MAX_SAMPLES, 0 };
      NsSwdConfig palette_cfg = { 1, PALETTE_PROJECTIONS, PALETTE_MAX_SAMPLES,
                                  PALETTE_BIN_WIDTH };
      /* L-BFGS needs the same objective within a block: fresh draws from
       * its fixed rng at every evaluation */
      int keep = st->fixed_draws ? 1 : SWD_KEEP_STEPS;
      for (int s = 0; s < st->n_scales; s++)
        {
          const float *xs = s == 0 ? x : st->level[s];
          float *gs = s == 0 ? grad : st->dlevel[s];
          if (s > 0)
            {
              ns_down2_smooth_forward (st->level[s], s == 1 ? x : st->level[s - 1], 3,
                                       st->lh[s - 1], st->lw[s - 1]);
              memset (st->dlevel[s], 0, sizeof (float) * 3 * st->lh[s] * st->lw[s]);
            }
          const NsPlanes *sty = st->style[s];
          if (p->style_loss == NS_STYLE_LOSS_GRAM)
            style += ns_loss_gram (gs, scale, xs, 3, st->lh[s], st->lw[s],
                                   st->gram[s], GRAM_PATCH, GRAM_MAX_SAMPLES,
                                   &st->rng, &st->work);
          else
            {
              style += ns_loss_swd_kept (gs, scale, xs, 3, st->lh[s], st->lw[s],
                                         sty->data, sty->h, sty->w, &cfg, &st->rng,
                                         &st->work, &st->kept[s][0], keep);
              /* single pixels: the palette itself, which random directions
               * in the patch space leave loose (off-palette confetti) */
              style += W_PALETTE * ns_loss_swd_kept (gs, (float) (scale * W_PALETTE), xs, 3,
                                                     st->lh[s], st->lw[s], sty->data, sty->h,
                                                     sty->w, &palette_cfg, &st->rng, &st->work,
                                                     &st->kept[s][1], keep);
              if (st->rf)
                style += W_FEATURES * ns_loss_random_features (gs, (float) (scale * W_FEATURES),
                                                               xs, st->lh[s], st->lw[s],
                                                               st->style_feat[s], sty->h, sty->w,
                                                               st->rf, &cfg, &st->rng, &st->work);
            }
        }
      for (int s = st->n_scales - 1; s >= 1; s--)
        ns_down2_smooth_backward (s == 1 ? grad : st->dlevel[s - 1], st->dlevel[s], 3,
                                  st->lh[s - 1], st->lw[s - 1]);
      style /= st->n_scales;
    }
  double content = 0;
  if (p->alpha > 0)
    content = ns_loss_content (grad, (float) (p->alpha * W_CONTENT), x, st->h, st->w,
                               st->content_target, CONTENT_SIGMA, &st->work);
  double tv = ns_loss_tv (grad, (float) W_TV, x, 3, st->h, st->w);
  double dots = ns_loss_dots (grad, (float) W_DOTS, x, 3, st->h, st->w);
  st->l_content = content;
  st->l_style = style;
  st->l_tv = tv;
  return p->alpha * W_CONTENT * content + p->beta * W_STYLE * style + W_TV * tv
         + W_DOTS * dots;
}

typedef struct
{
  const NsProgress *part;        /* the caller's, for the whole optimisation */
  double         done, total;    /* in units of work */
  char           stage[32];
} Progress;

static gboolean
report (Progress *pr, double work, GError **error)
{
  pr->done += work;
  return ns_progress_report (pr->part, pr->done / pr->total, pr->stage, error);
}

/* Runs `iterations` steps on x (3 planes at the stage's size). */
static gboolean
optimise_stage (Stage *st, float *x, int iterations, Progress *pr,
                double work_per_step, GError **error)
{
  gsize n = (gsize) 3 * st->h * st->w;
  g_autofree float *grad = g_try_malloc_n (n, sizeof (float));
  if (!grad)
    return out_of_memory (error);
  gboolean ok = TRUE;
  if (st->p->optimizer == NS_OPTIMIZER_LBFGS)
    {
      NsLbfgs lb;
      if (!ns_lbfgs_init (&lb, n, LBFGS_HISTORY, error))
        return FALSE;
      st->fixed_draws = TRUE;
      for (int it = 0; ok && it < iterations; it++)
        {
          /* new projections every block: the objective must stay fixed
           * while L-BFGS builds its curvature pairs */
          if (it % LBFGS_BLOCK == 0)
            {
              ns_rng_u32 (&st->rng);
              st->rng_block = st->rng;
              ns_lbfgs_reset (&lb);
            }
          ns_lbfgs_step (&lb, x, grad, 0.0f, 1.0f, objective, st);
          if (st->work.out_of_memory)
            ok = out_of_memory (error);
          else
            ok = report (pr, work_per_step, error);
        }
      ns_lbfgs_clear (&lb);
      return ok;
    }
  NsAdam adam;
  if (!ns_adam_init (&adam, n, ADAM_LR, error))
    return FALSE;
  for (int it = 0; ok && it < iterations; it++)
    {
      objective (x, grad, st);
      if (st->work.out_of_memory)
        ok = out_of_memory (error);
      else
        {
          /* cosine decay: the stochastic projections leave noise of the
           * order of the step size, so the last steps must be small */
          double f = 0.5 * (1 + cos (G_PI * it / MAX (1, iterations - 1)));
          adam.lr = (float) (ADAM_LR * (ADAM_LR_FINAL + (1 - ADAM_LR_FINAL) * f));
          ns_adam_step (&adam, x, grad, 0.0f, 1.0f);
          ok = report (pr, work_per_step, error);
        }
    }
  ns_adam_clear (&adam);
  return ok;
}

/* Steps at stage s of n_stages. */
static int
stage_steps (int s, int n_stages, int iterations)
{
  return n_stages > 1 && s == 0 ? 2 * iterations : iterations;
}

/* The start of a finer stage: the coarser result x brought to the size of
 * the stage's photo by guided upsampling on it, so the photo's edges at
 * the new scale are there from the first step.  A plain upscale left them
 * blurred and the stage spent most of its steps restoring them. */
static NsPlanes *
stage_start (const NsPlanes *x, const NsPlanes *content_prev, const NsPlanes *content_s,
             GError **error)
{
  g_autoptr (NsPlanes) next = ns_planes_new (3, content_s->h, content_s->w, error);
  if (!next)
    return NULL;
  gsize n = (gsize) 3 * next->h * next->w;
  memcpy (next->data, content_s->data, sizeof (float) * n);
  if (!ns_guided_upsample (next, content_prev, x, NS_GUIDE_RADIUS, NS_GUIDE_EPS, NULL, error))
    return NULL;
  for (gsize i = 0; i < n; i++)     /* the optimiser's box */
    next->data[i] = CLAMP (next->data[i], 0.0f, 1.0f);
  return g_steal_pointer (&next);
}

/* Coarse to fine: n_stages stages, each twice the size of the one before,
 * the last at content's size; each starts from the previous result (the
 * first from the content).  The result at content's size, or NULL. */
static NsPlanes *
optimise_pyramid (const NsParams *p, const NsPlanes *content, const NsPlanes *style,
                  NsRandomFeatures *rf, int n_stages, int iterations,
                  Progress *pr, GError **error)
{
  int wh = content->h, ww = content->w, side = MAX (wh, ww);
  NsRng rng;
  ns_rng_init (&rng, p->seed);
  g_autoptr (NsPlanes) x = NULL;
  g_autoptr (NsPlanes) content_prev = NULL;
  for (int s = 0; s < n_stages; s++)
    {
      int shift = n_stages - 1 - s, sh, sw;
      ns_fit_long_side (wh, ww, MAX (1, side >> shift), &sh, &sw);
      g_autoptr (NsPlanes) content_s = ns_planes_resized (content, sh, sw, error);
      if (!content_s)
        return NULL;
      g_autoptr (NsPlanes) next = x ? stage_start (x, content_prev, content_s, error)
                                    : ns_planes_resized (content_s, sh, sw, error);
      if (!next)
        return NULL;
      g_clear_pointer (&x, ns_planes_free);
      x = g_steal_pointer (&next);
      Stage st;
      g_snprintf (pr->stage, sizeof pr->stage, "pyramid %d/%d", s + 1, n_stages);
      gboolean ok = stage_init (&st, p, content_s, style, rf, &rng, error)
                    && optimise_stage (&st, x->data, stage_steps (s, n_stages, iterations), pr,
                                       1.0 / (1 << (2 * shift)), error);
      rng = st.rng;
      g_clear_pointer (&content_prev, ns_planes_free);
      content_prev = g_steal_pointer (&content_s);
      g_debug ("stage %d (%dx%d): content %.5g style %.5g tv %.5g",
               s + 1, sw, sh, st.l_content, st.l_style, st.l_tv);
      stage_clear (&st);
      if (!ok)
        return NULL;
    }
  if (x->h != wh || x->w != ww)
    return ns_planes_resized (x, wh, ww, error);
  return g_steal_pointer (&x);
}

NsPlanes *
ns_optimise (const NsParams *p, NsOptimiseMode mode, const NsPlanes *content,
             const NsPlanes *style, const NsProgress *progress, GError **error)
{
  int side = MAX (content->h, content->w);
  int iterations = p->iterations > 0 ? p->iterations : NS_DEFAULT_ITERATIONS;
  int n_stages = 1;
  while (mode == NS_OPTIMISE_PYRAMID && n_stages < MAX_STAGES
         && (side >> n_stages) >= MIN_STAGE_SIDE)
    n_stages++;
  /* work units: one step at the working size = 1, a stage 2x coarser 1/4 */
  Progress pr = { progress, 0, 0, "" };
  for (int s = 0; s < n_stages; s++)
    pr.total += stage_steps (s, n_stages, iterations) / (double) (1 << (2 * (n_stages - 1 - s)));

  NsRandomFeatures rf_net, *rf = NULL;
  if (W_FEATURES > 0 && !gram_loss (p))
    {
      if (!ns_random_features_init (&rf_net, 3, RF_CHANNELS, RF_KERNEL, RF_SEED, error))
        return NULL;
      rf = &rf_net;
    }
  NsPlanes *x = optimise_pyramid (p, content, style, rf, n_stages, iterations, &pr, error);
  if (rf)
    ns_random_features_clear (rf);
  return x;
}
