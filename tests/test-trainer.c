/* The trainer on a tiny network and tiny synthetic images: a few steps
 * lower the loss; an interrupted and resumed run ends with exactly the
 * weights of an uninterrupted one; add-style trains only the new style's
 * rows, and refuses a damaged file with a clear error. */
#include "ns_blas.h"
#include "ns_trainer.h"
#include "ns_error.h"
#include "ns_image.h"
#include "ns_rng.h"
#include "ns_weights.h"
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_PHOTOS 5

typedef struct
{
  NsImage *photos[N_PHOTOS];
  NsImage *style;
  gchar   *dir;
} Fixture;

/* Photos: smooth colour fields with a bright disc; the style: diagonal
 * red/blue stripes with noise, something a network must learn to paint. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  NsRng rng;
  ns_rng_init (&rng, 42);
  for (int i = 0; i < N_PHOTOS; i++)
    {
      int w = 48 + 8 * i, h = 40 + 4 * i;
      f->photos[i] = ns_image_new (w, h, 3, NULL);
      float cx = w * ns_rng_uniform (&rng), cy = h * ns_rng_uniform (&rng);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            float *px = f->photos[i]->data + ((size_t) y * w + x) * 3;
            gboolean disc = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 100;
            px[0] = disc ? 0.9f : (float) x / w;
            px[1] = disc ? 0.9f : (float) y / h;
            px[2] = disc ? 0.9f : 0.3f + 0.1f * i;
          }
    }
  f->style = ns_image_new (64, 64, 3, NULL);
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      {
        float *px = f->style->data + ((size_t) y * 64 + x) * 3;
        gboolean stripe = ((x + y) / 4) % 2;
        float noise = 0.1f * ns_rng_uniform (&rng);
        px[0] = stripe ? 0.85f + noise : 0.1f + noise;
        px[1] = 0.1f + noise;
        px[2] = stripe ? 0.1f + noise : 0.8f + noise;
      }
  f->dir = g_dir_make_tmp ("ns-trainer-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  for (int i = 0; i < N_PHOTOS; i++)
    ns_image_free (f->photos[i]);
  ns_image_free (f->style);
  GDir *dir = g_dir_open (f->dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree gchar *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  if (dir)
    g_dir_close (dir);
  g_rmdir (f->dir);
  g_free (f->dir);
}

static const char *style_names[] = { "stripes" };

static void
tiny_params (NsTrainParams *p, Fixture *f, const char *output)
{
  ns_train_params_init (p);
  p->photos = (const NsImage *const *) f->photos;
  p->n_photos = N_PHOTOS;
  p->styles = (const NsImage *const *) &f->style;
  p->style_names = style_names;
  p->n_styles = 1;
  p->base_channels = 4;
  p->res_blocks = 1;
  p->batch = 2;
  p->crop = 32;
  p->photo_size = 40;
  p->style_size = 64;
  p->lr = 1e-2f;
  p->validation_fraction = 0.2;
  p->validate_every = 10;
  p->checkpoint_every = 5;
  p->seed = 3;
  p->output = output;
}

typedef struct
{
  GArray *losses;
  double  first_validation, last_validation;
  double  last_eta;
  int     cancel_at;        /* raise the flag after this step (0 = never) */
  gint    cancel;
} Record;

/* the run's progress: fractions that never fall, one a step */
typedef struct { double last; int calls; gboolean monotonic; } Fractions;

static void
record_fraction (double fraction, const char *stage, gpointer data)
{
  Fractions *f = data;
  f->monotonic = f->monotonic && fraction >= f->last;
  f->last = fraction;
  f->calls++;
}

static void
record_step (const NsTrainStep *info, gpointer data)
{
  Record *r = data;
  if (r->losses->len == 0)
    r->first_validation = info->validation;
  g_array_append_val (r->losses, info->loss);
  r->last_validation = info->validation;
  r->last_eta = info->eta_s;
  g_assert_true (isfinite (info->loss) && info->step <= info->steps);
  g_assert_true (isfinite (info->adv) && isfinite (info->content) && isfinite (info->style));
  if (r->cancel_at && info->step == r->cancel_at)
    g_atomic_int_set (&r->cancel, 1);
}

typedef struct
{
  GArray  *steps;
  double   changed;     /* mean |out - in| of the last snapshot */
} Snapshots;

static NsImage *
snapshot_photo (void)
{
  NsImage *img = ns_image_new (24, 20, 3, NULL);
  for (int j = 0; j < 24 * 20 * 3; j++)
    img->data[j] = (j % 7) / 7.0f;
  return img;
}

static void
record_snapshot (const NsImage *img, int step, gpointer data)
{
  Snapshots *s = data;
  g_array_append_val (s->steps, step);
  g_assert_cmpint (img->width, ==, 24);
  g_assert_cmpint (img->height, ==, 20);
  double sum = 0;
  for (int j = 0; j < 24 * 20 * 3; j++)
    sum += fabs (img->data[j] - (j % 7) / 7.0f);
  s->changed = sum / (24 * 20 * 3);
}

static double
mean_of (GArray *a, guint from, guint to)
{
  double sum = 0;
  for (guint i = from; i < to; i++)
    sum += g_array_index (a, double, i);
  return sum / (to - from);
}

static void
test_loss_falls (Fixture *f, gconstpointer data)
{
  enum { STEPS = 150 };
  g_autofree gchar *out = g_build_filename (f->dir, "smoke.nsw", NULL);
  NsTrainParams p;
  tiny_params (&p, f, out);
  p.steps = STEPS;
  p.style_sources = (const char *const[]) { "stripes.png" };
  Snapshots snaps = { .steps = g_array_new (FALSE, FALSE, sizeof (int)) };
  g_autoptr (NsImage) photo = snapshot_photo ();
  p.snapshot = record_snapshot;
  p.snapshot_data = &snaps;
  /* a snapshot without the photo it paints is refused before any step */
  g_autoptr (GError) refused = NULL;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &refused));
  g_assert_error (refused, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  p.snapshot_photo = photo;
  p.snapshot_data = &snaps;
  p.snapshot_every = 60;
  Record r = { .losses = g_array_new (FALSE, FALSE, sizeof (double)) };
  g_autoptr (GError) error = NULL;
  Fractions fractions = { .monotonic = TRUE };
  NsProgress progress = ns_progress_whole (record_fraction, &fractions, NULL);
  /* the run takes one BLAS thread and gives the caller's count back */
  const int blas_threads = ns_blas_threads (2);
  gboolean ok = ns_train (&p, &progress, record_step, &r, &error);
  g_assert_cmpint (ns_blas_threads (blas_threads), ==, 2);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (r.losses->len, ==, STEPS);
  g_assert_cmpint (fractions.calls, ==, STEPS);
  g_assert_true (fractions.monotonic);
  g_assert_cmpfloat (fractions.last, ==, 1.0);
  /* the held-out score (same crops, same projections every time) is the
   * fair measure: the adversarial term rises as the critic learns */
  double first = mean_of (r.losses, 0, 10), last = mean_of (r.losses, STEPS - 10, STEPS);
  g_test_message ("validation score: before %.4f, after %d steps %.4f (%.0f%%); "
                  "objective over the first/last 10 steps %.4f / %.4f",
                  r.first_validation, STEPS, r.last_validation,
                  100 * r.last_validation / r.first_validation, first, last);
  g_assert_cmpfloat (r.last_validation, <, 0.8 * r.first_validation);
  g_assert_true (isfinite (r.last_validation));
  g_assert_cmpfloat (r.last_eta, ==, 0.0);
  /* snapshots at 60, 120 and after the last step; the trained net paints */
  g_assert_cmpuint (snaps.steps->len, ==, 3);
  g_assert_cmpint (g_array_index (snaps.steps, int, snaps.steps->len - 1), ==, STEPS);
  g_assert_cmpfloat (snaps.changed, >, 0.05);
  g_array_unref (snaps.steps);

  /* the output is a valid generator file with the style and the record */
  g_autoptr (NsWeights) w = ns_weights_load (out, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ns_weights_arch (w), ==, "ns-generator-1");
  g_assert_cmpint (ns_weights_style_index (w, "stripes"), ==, 0);
  g_assert_cmpstr (ns_weights_style_source (w, 0), ==, "stripes.png");
  gint64 steps;
  g_assert_true (ns_weights_get_int (w, "train.steps", &steps));
  g_assert_cmpint (steps, ==, STEPS);
  g_array_unref (r.losses);
}

static GBytes *
read_file (const char *path)
{
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

static void
test_resume (Fixture *f, gconstpointer data)
{
  g_autofree gchar *whole = g_build_filename (f->dir, "whole.nsw", NULL);
  g_autofree gchar *parts = g_build_filename (f->dir, "parts.nsw", NULL);
  g_autofree gchar *ckpt = g_build_filename (f->dir, "run.ckpt", NULL);
  g_autoptr (GError) error = NULL;
  NsTrainParams p;

  tiny_params (&p, f, whole);
  p.steps = 20;
  p.noise = 0.05f;    /* variations follow the seed as well */
  p.lambda_chroma = 0.5;
  p.lambda_variation = 2.0;   /* and the pairs of the batch */
  g_assert_true (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  /* the same run, cancelled after 13 steps (between checkpoints), resumed */
  tiny_params (&p, f, parts);
  p.steps = 20;
  p.noise = 0.05f;
  p.lambda_chroma = 0.5;
  p.lambda_variation = 2.0;
  p.checkpoint = ckpt;
  p.resume = TRUE;
  Record r = { .losses = g_array_new (FALSE, FALSE, sizeof (double)), .cancel_at = 13 };
  NsProgress cancel = ns_progress_whole (NULL, NULL, &r.cancel);
  g_assert_false (ns_train (&p, &cancel, record_step, &r, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (g_file_test (parts, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_EXISTS));
  g_array_set_size (r.losses, 0);
  r.cancel_at = 0;
  r.cancel = 0;
  gboolean resumed = ns_train (&p, &cancel, record_step, &r, &error);
  g_assert_no_error (error);
  g_assert_true (resumed);
  g_assert_cmpuint (r.losses->len, ==, 7);    /* only the steps left */
  g_array_unref (r.losses);

  g_autoptr (GBytes) a = read_file (whole), b = read_file (parts);
  g_assert_true (g_bytes_equal (a, b));
  g_autoptr (NsWeights) w = ns_weights_load (whole, &error);
  double noise;
  g_assert_true (w && ns_weights_get_double (w, "noise", &noise));
  g_assert_cmpfloat_with_epsilon (noise, 0.05, 1e-6);

  double chroma;
  g_assert_true (ns_weights_get_double (w, "train.lambda_chroma", &chroma));
  g_assert_cmpfloat (chroma, ==, 0.5);

  double variation;
  g_assert_true (ns_weights_get_double (w, "train.lambda_variation", &variation));
  g_assert_cmpfloat (variation, ==, 2.0);

  /* a checkpoint of other parameters is refused, not silently mixed */
  p.lambda_chroma = 1.0;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.lambda_chroma = 0.5;
  p.lambda_variation = 0;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.lambda_variation = 2.0;
  p.lr = 5e-3f;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* a damaged checkpoint is an error, not a crash or a silent restart */
  p.lr = 1e-2f;
  g_autoptr (GBytes) ck = read_file (ckpt);
  gsize len;
  g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (ck, &len), g_bytes_get_size (ck));
  bad[len / 2] ^= 0x40;
  g_assert_true (g_file_set_contents (ckpt, (const char *) bad, len, NULL));
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_test_message ("damaged checkpoint: %s", error->message);
}

static void
test_add_style (Fixture *f, gconstpointer data)
{
  g_autofree gchar *base = g_build_filename (f->dir, "base.nsw", NULL);
  g_autofree gchar *grown = g_build_filename (f->dir, "grown.nsw", NULL);
  g_autoptr (GError) error = NULL;
  NsTrainParams p;
  tiny_params (&p, f, base);
  p.steps = 5;
  g_assert_true (ns_train (&p, NULL, NULL, NULL, &error));

  /* a second style: the photo's own colours inverted */
  static const char *names[] = { "inverse" };
  g_autoptr (NsImage) inverse = ns_image_copy (f->photos[0], NULL);
  for (size_t j = 0; j < (size_t) inverse->width * inverse->height * 3; j++)
    inverse->data[j] = 1.0f - inverse->data[j];
  const NsImage *styles[] = { inverse };
  tiny_params (&p, f, grown);
  p.styles = styles;
  p.style_names = names;
  p.style_size = 48;
  p.steps = 5;
  p.add_to = base;
  g_assert_true (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (NsWeights) wb = ns_weights_load (base, &error);
  g_autoptr (NsWeights) wg = ns_weights_load (grown, &error);
  g_assert_no_error (error);
  /* a new network ends with its identity row; add-style appends after it */
  g_assert_cmpint (ns_weights_n_styles (wb), ==, 2);
  g_assert_cmpint (ns_weights_style_index (wb, NS_IDENTITY_STYLE), ==, 1);
  g_assert_cmpint (ns_weights_n_styles (wg), ==, 3);
  g_assert_cmpint (ns_weights_style_index (wg, "stripes"), ==, 0);
  g_assert_cmpint (ns_weights_style_index (wg, NS_IDENTITY_STYLE), ==, 1);
  g_assert_cmpint (ns_weights_style_index (wg, "inverse"), ==, 2);
  /* a new network paints on photos moved onto its paintings' palettes;
   * the added style is trained as the base's were */
  const char *where_b = NULL, *where_g = NULL;
  g_assert_true (ns_weights_get_string (wb, NS_PALETTE_MAP_KEY, &where_b));
  g_assert_true (ns_weights_get_string (wg, NS_PALETTE_MAP_KEY, &where_g));
  g_assert_cmpstr (where_b, ==, NS_PALETTE_MAP_BEFORE);
  g_assert_cmpstr (where_g, ==, NS_PALETTE_MAP_BEFORE);
  /* every old parameter is bit-identical, the new rows moved */
  double moved = 0;
  for (int t = 0; t < ns_weights_n_tensors (wb); t++)
    {
      const char *name = ns_weights_tensor_name (wb, t);
      int db[NS_WEIGHTS_MAX_DIMS], dg[NS_WEIGHTS_MAX_DIMS], nb, ng;
      const float *vb = ns_weights_tensor (wb, name, db, &nb);
      const float *vg = ns_weights_tensor (wg, name, dg, &ng);
      g_assert_nonnull (vg);
      size_t len = 1;
      for (int d = 0; d < nb; d++)
        len *= db[d];
      g_assert_cmpmem (vb, len * 4, vg, len * 4);   /* old rows come first */
      if (g_str_has_suffix (name, ".norm.gamma") || g_str_has_suffix (name, ".norm.beta"))
        {
          g_assert_cmpint (dg[0], ==, 3);
          for (int c = 0; c < dg[1]; c++)
            moved += fabs (vg[2 * dg[1] + c] - vb[c]);
        }
    }
  g_assert_cmpfloat (moved, >, 0.0);

  /* the name must be new */
  p.add_to = grown;
  p.output = base;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_add_style_damaged (Fixture *f, gconstpointer data)
{
  g_autofree gchar *base = g_build_filename (f->dir, "base.nsw", NULL);
  g_autofree gchar *out = g_build_filename (f->dir, "out.nsw", NULL);
  g_autoptr (GError) error = NULL;
  NsTrainParams p;
  tiny_params (&p, f, base);
  p.steps = 2;
  g_assert_true (ns_train (&p, NULL, NULL, NULL, &error));

  /* one flipped bit near the end (tensor data) breaks the checksum */
  g_autoptr (GBytes) bytes = read_file (base);
  gsize len;
  g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));
  bad[len - 8] ^= 0x01;
  g_assert_true (g_file_set_contents (base, (const char *) bad, len, NULL));

  static const char *names[] = { "second" };
  tiny_params (&p, f, out);
  p.style_names = names;
  p.add_to = base;
  p.steps = 2;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("damaged base: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "cannot add a style: "));
  g_assert_nonnull (strstr (error->message, base));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* a file cut short, and one that is not a weight file at all */
  g_assert_true (g_file_set_contents (base, (const char *) bad, len / 3, NULL));
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_TRUNCATED);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (base, "hello", 5, NULL));
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_true (g_str_has_prefix (error->message, "cannot add a style: "));
}

static void
test_bad_params (void)
{
  NsTrainParams p;
  ns_train_params_init (&p);
  g_autoptr (GError) error = NULL;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));   /* no photos */
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
}

static void
test_bad_weight (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = g_build_filename (f->dir, "never.nsw", NULL);
  NsTrainParams p;
  tiny_params (&p, f, out);
  p.lambda_chroma = -1;
  g_autoptr (GError) error = NULL;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "loss weights"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* the variation loss compares the batch's halves under two noise draws:
 * an odd batch or no noise is refused, not trained without it */
static void
test_bad_variation (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = g_build_filename (f->dir, "never.nsw", NULL);
  NsTrainParams p;
  tiny_params (&p, f, out);
  p.lambda_variation = 1;
  p.noise = 0.05f;
  p.batch = 3;
  g_autoptr (GError) error = NULL;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "even batch"));
  g_clear_error (&error);
  p.batch = 2;
  p.noise = 0;
  g_assert_false (ns_train (&p, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/trainer/loss-falls", Fixture, NULL, fixture_setup, test_loss_falls,
              fixture_teardown);
  g_test_add ("/trainer/resume", Fixture, NULL, fixture_setup, test_resume,
              fixture_teardown);
  g_test_add ("/trainer/add-style", Fixture, NULL, fixture_setup, test_add_style,
              fixture_teardown);
  g_test_add ("/trainer/add-style-damaged", Fixture, NULL, fixture_setup,
              test_add_style_damaged, fixture_teardown);
  g_test_add_func ("/trainer/bad-params", test_bad_params);
  g_test_add ("/trainer/bad-variation", Fixture, NULL, fixture_setup, test_bad_variation,
              fixture_teardown);
  g_test_add ("/trainer/bad-weight", Fixture, NULL, fixture_setup, test_bad_weight,
              fixture_teardown);
  return g_test_run ();
}
