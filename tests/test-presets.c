/* The preset side of the engine: the weights-folder scan (presets.c), the
 * style pictures kept for refinement, and ns_stylize's generator path
 * (stylize_preset.c) on small random networks, plus a golden output of the
 * shipped presets (weights/presets.nsw) on a generated image.
 *
 * Set NS_UPDATE_GOLDEN=1 to rewrite the golden file after a deliberate
 * change of the network or the path (and say why in the commit). */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "ns_blas.h"
#include "ns_discriminator.h"
#include "ns_error.h"
#include "ns_generator.h"
#include "ns_presets.h"
#include "ns_rng.h"
#include "ns_stylize.h"
#include "ns_weights.h"
#include "ns_stylize_paths.h"

typedef struct
{
  gchar *dir;
  gchar *net;         /* styles "b", identity, "a" */
} Fixture;

/* A small random generator holding the given styles; the style rows get
 * distinct gamma/beta so that each style paints differently. */
static void
write_generator (const char *path, const char *const *names, int n, guint64 seed)
{
  NsGeneratorConfig cfg = { 4, 1, n, 3, FALSE };
  g_autoptr (NsGenerator) g = ns_generator_new (&cfg, seed, NULL);
  g_assert_nonnull (g);
  float *params = ns_generator_params (g);
  size_t np = ns_generator_n_params (g);
  g_autofree guint8 *mask = g_new (guint8, np);
  NsRng rng;
  ns_rng_init (&rng, seed);
  for (int s = 0; s < n; s++)
    {
      ns_generator_style_mask (g, s, mask);
      for (size_t j = 0; j < np; j++)
        if (mask[j])
          params[j] += 0.5f * ns_rng_normal (&rng);
    }
  g_autoptr (NsWeights) w = ns_weights_new ("ns-generator-1");
  /* a 1x1 PNG as every thumbnail */
  static const guint8 png[] = {
    0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R',
    0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde, 0, 0, 0, 0x0c,
    'I', 'D', 'A', 'T', 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0, 0, 0x03, 0x01, 0x01,
    0, 0x18, 0xdd, 0x8d, 0xb0, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
  for (int s = 0; s < n; s++)
    g_assert_true (ns_weights_add_style (w, names[s], "test", png, sizeof png, NULL));
  ns_generator_to_weights (g, w);
  g_assert_true (ns_weights_save (w, path, NULL));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("ns-presets-XXXXXX", NULL);
  f->net = g_build_filename (f->dir, "net.nsw", NULL);
  write_generator (f->net, (const char *[]) { "b", NS_IDENTITY_STYLE, "a" }, 3, 1);
  g_autofree gchar *other = g_build_filename (f->dir, "other.nsw", NULL);
  write_generator (other, (const char *[]) { "c" }, 1, 2);
  /* neither of these is a preset: a damaged file and a discriminator */
  g_autofree gchar *junk = g_build_filename (f->dir, "junk.nsw", NULL);
  g_assert_true (g_file_set_contents (junk, "NSWF this is not a weight file", -1, NULL));
  g_autoptr (NsDiscriminator) d = ns_discriminator_new (4, 2, 1, NULL);
  g_autoptr (NsWeights) dw = ns_weights_new ("ns-discriminator-1");
  ns_discriminator_to_weights (d, dw);
  g_autofree gchar *disc = g_build_filename (f->dir, "disc.nsw", NULL);
  g_assert_true (ns_weights_save (dw, disc, NULL));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
  for (const char *e; d && (e = g_dir_read_name (d)); )
    {
      g_autofree gchar *p = g_build_filename (f->dir, e, NULL);
      g_unlink (p);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->net);
}

/* A photo-like test image: smooth gradients, a disc and a bar, with alpha. */
static NsImage *
generated_image (int w, int h, int channels)
{
  NsImage *img = ns_image_new (w, h, channels, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float *px = img->data + ((size_t) y * w + x) * channels;
        float u = (float) x / w, v = (float) y / h;
        float disc = (x - 0.35f * w) * (x - 0.35f * w) + (y - 0.5f * h) * (y - 0.5f * h)
                     < 0.06f * w * w ? 1.0f : 0.0f;
        float bar = fabsf (u - 0.75f) < 0.05f ? 1.0f : 0.0f;
        float rgb[3] = { 0.2f + 0.6f * u * (1 - disc) + 0.7f * disc * v,
                         0.3f + 0.5f * v - 0.2f * bar,
                         0.8f - 0.5f * u + 0.15f * sinf (12 * v) };
        for (int c = 0; c < MIN (channels, 3); c++)
          px[c] = channels < 3 ? 0.3f * rgb[0] + 0.6f * rgb[1] + 0.1f * rgb[2] : rgb[c];
        if (channels == 4 || channels == 2)
          px[channels - 1] = (float) ((x * 7 + y * 3) % 256) / 255.0f;
      }
  return img;
}

static double
mean_abs_diff (const NsImage *a, const NsImage *b)
{
  size_t n = (size_t) a->width * a->height * a->channels;
  double s = 0;
  for (size_t j = 0; j < n; j++)
    s += fabs (a->data[j] - b->data[j]);
  return s / n;
}

static void
test_list (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) all = ns_presets_list (f->dir);
  g_assert_cmpuint (all->len, ==, 3);     /* a, b, c: no identity, no junk */
  const char *want[] = { "a", "b", "c" };
  const int rows[] = { 2, 0, 0 };
  for (guint i = 0; i < all->len; i++)
    {
      NsPreset *p = all->pdata[i];
      g_assert_cmpstr (p->name, ==, want[i]);
      g_assert_cmpint (p->index, ==, rows[i]);
      g_assert_cmpstr (p->source, ==, "test");
      g_assert_nonnull (p->thumbnail);
      g_assert_true (g_str_has_suffix (p->file, i < 2 ? "net.nsw" : "other.nsw"));
    }
  g_autoptr (GPtrArray) none = ns_presets_list ("/nonexistent/folder");
  g_assert_cmpuint (none->len, ==, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (NsPreset) c = ns_presets_find (f->dir, "c", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (c->file, "other.nsw"));
  g_assert_null (ns_presets_find (f->dir, "nope", &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, f->dir));
  g_clear_error (&error);
  g_assert_null (ns_presets_find (f->dir, NS_IDENTITY_STYLE, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);

  /* a file rewritten in place is read again */
  g_autofree gchar *other = g_build_filename (f->dir, "other.nsw", NULL);
  write_generator (other, (const char *[]) { "d" }, 1, 3);
  g_autoptr (GPtrArray) again = ns_presets_list (f->dir);
  g_assert_cmpuint (again->len, ==, 3);
  g_assert_cmpstr (((NsPreset *) again->pdata[2])->name, ==, "d");

  /* the environment variable moves the default folder */
  g_setenv ("NEURAL_STYLE_WEIGHTS_DIR", f->dir, TRUE);
  g_autoptr (GPtrArray) env = ns_presets_list (NULL);
  g_assert_cmpuint (env->len, ==, 3);
  g_unsetenv ("NEURAL_STYLE_WEIGHTS_DIR");
}

static void
test_style_image (Fixture *f, gconstpointer data)
{
  g_autoptr (NsWeights) w = ns_weights_load (f->net, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (ns_weights_get_style_image (w, "a", &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* small pictures are kept at their size, to 8 bits */
  g_autoptr (NsImage) small = generated_image (40, 30, 4);
  ns_weights_set_style_image (w, "a", small);
  g_autoptr (NsImage) back = ns_weights_get_style_image (w, "a", &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->width, ==, 40);
  g_assert_cmpint (back->height, ==, 30);
  g_assert_cmpint (back->channels, ==, 3);
  for (int j = 0; j < 40 * 30; j++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat (fabsf (back->data[3 * j + c] - CLAMP (small->data[4 * j + c], 0, 1)),
                         <=, 0.5f / 255 + 1e-6f);
  /* big ones are scaled down to NS_STYLE_IMAGE_SIDE on the long side */
  g_autoptr (NsImage) big = generated_image (1000, 500, 3);
  ns_weights_set_style_image (w, "b", big);
  g_autoptr (NsImage) big_back = ns_weights_get_style_image (w, "b", &error);
  g_assert_cmpint (big_back->width, ==, NS_STYLE_IMAGE_SIDE);
  g_assert_cmpint (big_back->height, ==, NS_STYLE_IMAGE_SIDE / 2);

  /* malformed bytes are an error, not a crash */
  const guint8 bad[] = { 10, 0, 0, 0, 10, 0, 0, 0, 1, 2, 3 };
  ns_weights_set_bytes (w, "style_image.a", bad, sizeof bad);
  g_assert_null (ns_weights_get_style_image (w, "a", &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
}

/* Every bad request is an error that names the problem; the image is left
 * exactly as it was. */
static void
test_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (NsImage) img = generated_image (24, 20, 4);
  g_autoptr (NsImage) orig = ns_image_copy (img, NULL);
  g_autoptr (GError) error = NULL;
  NsParams p;
  ns_params_init (&p);
  p.weights_path = f->net;

  p.preset = "nope";
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);

  p.preset = NS_IDENTITY_STYLE;   /* internal, not a preset */
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  p.preset = "a";
  p.preset2 = "nope2";
  p.mix = 0.5;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nope2"));
  g_clear_error (&error);

  p.preset2 = "b";
  p.mix = 1.5;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.preset2 = NULL;
  p.mix = 0;

  /* a weight file that holds no generator */
  g_autofree gchar *disc = g_build_filename (f->dir, "disc.nsw", NULL);
  p.weights_path = disc;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
  g_clear_error (&error);
  g_autofree gchar *junk = g_build_filename (f->dir, "junk.nsw", NULL);
  p.weights_path = junk;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "junk.nsw"));
  g_clear_error (&error);
  /* a palette map neither before nor after the network */
  {
    g_autoptr (NsWeights) w = ns_weights_load (f->net, NULL);
    ns_weights_set_string (w, NS_PALETTE_MAP_KEY, "sideways");
    g_autofree gchar *odd = g_build_filename (f->dir, "sideways.nsw", NULL);
    g_assert_true (ns_weights_save (w, odd, NULL));
    p.weights_path = odd;
    g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
    g_assert_error (error, NS_ERROR, NS_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "sideways"));
    g_clear_error (&error);
  }
  p.weights_path = f->net;

  /* refinement needs the style's picture, which this file lacks */
  p.iterations = 5;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  p.iterations = 0;

  /* a preset and a style image at once */
  p.style_image = orig;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  p.style_image = NULL;

  gint cancel = 1;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, &cancel, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_cmpmem (img->data, sizeof (float) * 24 * 20 * 4,
                   orig->data, sizeof (float) * 24 * 20 * 4);
}

/* The preset path a band of rows at a time gives ns_stylize's bytes for
 * every band (one row, odd, the whole height), with and without the
 * photo's colours, upsampled from the working size. */
static void
test_bands (Fixture *f, gconstpointer data)
{
  NsParams p;
  ns_params_init (&p);
  p.weights_path = f->net;
  p.preset = "a";
  p.size = 64;
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImage) photo = generated_image (200, 120, 3);
  for (int keep = 0; keep < 2; keep++)
    {
      p.preserve_colors = keep;
      g_autoptr (NsImage) want = ns_image_copy (photo, NULL);
      g_assert_true (ns_stylize (&p, want, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat (mean_abs_diff (want, photo), >, 1e-3);
      static const int bands[] = { 1, 7, 120 };
      for (gsize b = 0; b < G_N_ELEMENTS (bands); b++)
        {
          g_autoptr (NsImage) got = ns_image_new (200, 120, 3, NULL);
          NsImageRows io = { photo, got };
          NsImageBands in = ns_image_rows_bands (&io, bands[b]);
          g_assert_true (ns_stylize_bands (&p, &in, NULL, NULL, NULL, &error));
          g_assert_no_error (error);
          g_assert_cmpmem (got->data, sizeof (float) * 200 * 120 * 3,
                           want->data, sizeof (float) * 200 * 120 * 3);
        }
    }
}

/* Alpha is untouched, a grey image stays grey, the guided upsampling path
 * (image larger than the working size) keeps the size, mixing a preset with
 * itself is that preset, and the strength reaches the identity row. */
static void
test_behaviour (Fixture *f, gconstpointer data)
{
  NsParams p;
  ns_params_init (&p);
  p.weights_path = f->net;
  p.preset = "a";
  g_autoptr (GError) error = NULL;

  g_autoptr (NsImage) photo = generated_image (48, 36, 4);
  g_autoptr (NsImage) a = ns_image_copy (photo, NULL);
  g_assert_true (ns_stylize (&p, a, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (int j = 0; j < 48 * 36; j++)
    g_assert_cmpfloat (a->data[4 * j + 3], ==, photo->data[4 * j + 3]);
  g_assert_cmpfloat (mean_abs_diff (a, photo), >, 1e-3);

  /* the same file name with other weights in it paints otherwise */
  g_autofree gchar *net2 = g_build_filename (f->dir, "net2.nsw", NULL);
  write_generator (net2, (const char *[]) { "b", NS_IDENTITY_STYLE, "a" }, 3, 1);
  p.weights_path = net2;
  g_autoptr (NsImage) first = ns_image_copy (photo, NULL), second = ns_image_copy (photo, NULL);
  g_assert_true (ns_stylize (&p, first, NULL, NULL, NULL, &error));
  g_assert_cmpfloat (mean_abs_diff (first, a), <, 1e-6);
  write_generator (net2, (const char *[]) { "b", NS_IDENTITY_STYLE, "a" }, 3, 9);
  g_assert_true (ns_stylize (&p, second, NULL, NULL, NULL, &error));
  g_assert_cmpfloat (mean_abs_diff (first, second), >, 1e-4);
  p.weights_path = f->net;

  g_autoptr (NsImage) self_mix = ns_image_copy (photo, NULL);
  p.preset2 = "a";
  p.mix = 0.3;
  g_assert_true (ns_stylize (&p, self_mix, NULL, NULL, NULL, &error));
  g_assert_cmpfloat (mean_abs_diff (self_mix, a), <, 1e-5);
  g_autoptr (NsImage) b = ns_image_copy (photo, NULL), ab = ns_image_copy (photo, NULL);
  p.preset = "b";
  p.preset2 = NULL;
  g_assert_true (ns_stylize (&p, b, NULL, NULL, NULL, &error));
  p.preset = "a";
  p.preset2 = "b";
  p.mix = 0.5;
  g_assert_true (ns_stylize (&p, ab, NULL, NULL, NULL, &error));
  double d_ab = mean_abs_diff (a, b), d_a = mean_abs_diff (ab, a), d_b = mean_abs_diff (ab, b);
  g_test_message ("a-b %.4f, mix-a %.4f, mix-b %.4f", d_ab, d_a, d_b);
  g_assert_cmpfloat (d_a, <, d_ab);
  g_assert_cmpfloat (d_b, <, d_ab);
  p.preset2 = NULL;

  /* beta 0: strength 0, the identity row alone (an untrained one here,
   * so only "another result" can be checked; the golden test checks a
   * trained one returns the photo) */
  g_autoptr (NsImage) zero = ns_image_copy (photo, NULL);
  p.beta = 0;
  g_assert_true (ns_stylize (&p, zero, NULL, NULL, NULL, &error));
  p.beta = 1;
  g_assert_cmpfloat (ns_preset_strength (1, 0), ==, 0.0);
  g_assert_cmpfloat (ns_preset_strength (1, 1), ==, 1.0);
  g_assert_cmpfloat (ns_preset_strength (0, 1), ==, 1.0);
  g_assert_cmpfloat (ns_preset_strength (1, 3), ==, 1.0);
  g_assert_cmpfloat (ns_preset_strength (1, 100), ==, 1.0);
  g_assert_cmpfloat (fabs (ns_preset_strength (1, 0.3) - (1 + 0.5 * log10 (0.3))), <, 1e-12);
  g_assert_cmpfloat (fabs (ns_preset_strength (1, 0.1) - 0.5), <, 1e-12);
  g_assert_cmpfloat (ns_preset_strength (2, 1), <, ns_preset_strength (1, 1));
  g_assert_cmpfloat (mean_abs_diff (zero, a), >, 1e-3);

  /* a big image through the working size and guided upsampling */
  g_autoptr (NsImage) big = generated_image (200, 120, 3);
  g_autoptr (NsImage) big_orig = ns_image_copy (big, NULL);
  p.size = 64;
  g_assert_true (ns_stylize (&p, big, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (mean_abs_diff (big, big_orig), >, 1e-3);
  p.size = 0;

  /* with the painting's picture stored, the result takes its palette:
   * its mean colour lands on the picture's (at strength 1), and half way
   * at beta/alpha = 0.1 (strength 0.5) */
  {
    g_autoptr (NsWeights) w = ns_weights_load (f->net, NULL);
    g_autoptr (NsImage) red = generated_image (40, 30, 3);
    double want[3] = { 0 }, got[3] = { 0 }, half[3] = { 0 }, plain[3] = { 0 };
    for (int j = 0; j < 40 * 30; j++)
      {
        red->data[3 * j] = 0.5f + 0.5f * red->data[3 * j];
        red->data[3 * j + 2] *= 0.3f;
        for (int c = 0; c < 3; c++)
          want[c] += red->data[3 * j + c] / (40 * 30);
      }
    ns_weights_set_style_image (w, "a", red);
    g_autofree gchar *painted = g_build_filename (f->dir, "painted.nsw", NULL);
    g_assert_true (ns_weights_save (w, painted, NULL));
    g_autoptr (NsImage) pa = ns_image_copy (photo, NULL), ph = ns_image_copy (photo, NULL);
    p.weights_path = painted;
    g_assert_true (ns_stylize (&p, pa, NULL, NULL, NULL, &error));
    p.beta = 0.1;
    g_assert_true (ns_stylize (&p, ph, NULL, NULL, NULL, &error));
    p.beta = 1;
    p.weights_path = f->net;
    for (int j = 0; j < 48 * 36; j++)
      for (int c = 0; c < 3; c++)
        {
          got[c] += pa->data[4 * j + c] / (48 * 36);
          half[c] += ph->data[4 * j + c] / (48 * 36);
          plain[c] += a->data[4 * j + c] / (48 * 36);
        }
    for (int c = 0; c < 3; c++)
      {
        g_test_message ("channel %d: picture %.3f, matched %.3f, half %.3f, unmatched %.3f",
                        c, want[c], got[c], half[c], plain[c]);
        g_assert_cmpfloat (fabs (got[c] - want[c]), <, 0.02);
        g_assert_cmpfloat (fabs (half[c] - want[c]), <, fabs (plain[c] - want[c]));
      }

    /* the map before the network: the network sees the photo in the
     * picture's colours (this one, near the identity, keeps them), so the
     * result lands near the picture's mean too, by another route */
    ns_weights_set_string (w, NS_PALETTE_MAP_KEY, NS_PALETTE_MAP_BEFORE);
    g_autofree gchar *before = g_build_filename (f->dir, "before.nsw", NULL);
    g_assert_true (ns_weights_save (w, before, NULL));
    g_autoptr (NsImage) pb = ns_image_copy (photo, NULL);
    p.weights_path = before;
    g_assert_true (ns_stylize (&p, pb, NULL, NULL, NULL, &error));
    p.weights_path = f->net;
    double got_before[3] = { 0 };
    for (int j = 0; j < 48 * 36; j++)
      for (int c = 0; c < 3; c++)
        got_before[c] += pb->data[4 * j + c] / (48 * 36);
    for (int c = 0; c < 3; c++)
      {
        g_test_message ("channel %d: mapped before the network %.3f", c, got_before[c]);
        g_assert_cmpfloat (fabs (got_before[c] - want[c]), <, fabs (plain[c] - want[c]));
      }
    g_assert_cmpfloat (mean_abs_diff (pb, pa), >, 1e-3);
  }

  /* grey in, grey out */
  g_autoptr (NsImage) grey = generated_image (30, 20, 2);
  g_autoptr (NsImage) grey_orig = ns_image_copy (grey, NULL);
  g_assert_true (ns_stylize (&p, grey, NULL, NULL, NULL, &error));
  for (int j = 0; j < 30 * 20; j++)
    g_assert_cmpfloat (grey->data[2 * j + 1], ==, grey_orig->data[2 * j + 1]);
  g_assert_cmpfloat (mean_abs_diff (grey, grey_orig), >, 1e-4);

  /* preserve colours: the photo's mean colour stays */
  g_autoptr (NsImage) keep = ns_image_copy (photo, NULL);
  p.preserve_colors = TRUE;
  g_assert_true (ns_stylize (&p, keep, NULL, NULL, NULL, &error));
  double cb_keep = 0, cb_photo = 0;
  for (int j = 0; j < 48 * 36; j++)
    {
      cb_keep += keep->data[4 * j + 2] - keep->data[4 * j + 1];
      cb_photo += photo->data[4 * j + 2] - photo->data[4 * j + 1];
    }
  g_test_message ("mean blue-green: photo %.4f, preserved %.4f",
                  cb_photo / (48 * 36), cb_keep / (48 * 36));
  g_assert_cmpfloat (fabs (cb_keep - cb_photo) / (48 * 36), <, 0.02);
}

/* ---- the shipped presets ------------------------------------------------------ */

#define GOLDEN_PRESET "hokusai-great-wave"
#define GOLDEN_W 96
#define GOLDEN_H 64

/* 8-bit RGB of img (3 channels). */
static guint8 *
to_rgb8 (const NsImage *img)
{
  size_t n = (size_t) img->width * img->height * 3;
  guint8 *out = g_malloc (n);
  for (size_t j = 0; j < n; j++)
    out[j] = (guint8) lrintf (CLAMP (img->data[j], 0.0f, 1.0f) * 255.0f);
  return out;
}

/* Default parameters for GOLDEN_PRESET of the shipped weights/presets.nsw;
 * returns the file's path (p points into it: free it after p's last use). */
static gchar *
shipped_preset (NsParams *p)
{
  const char *root = g_getenv ("NS_SOURCE_ROOT");
  gchar *weights = g_build_filename (root ? root : "..", "weights", "presets.nsw", NULL);
  ns_params_init (p);
  p->weights_path = weights;
  p->preset = GOLDEN_PRESET;
  return weights;
}

/* The shipped network on a generated photo matches the stored result to
 * within 2/255 per value (BLAS kernels and thread counts round
 * differently), with beta = 0 it returns the photo, and its distance from
 * the photo grows with beta/alpha. */
static void
test_golden (void)
{
  const char *root = g_getenv ("NS_SOURCE_ROOT");
  g_autofree gchar *golden = g_build_filename (root ? root : "..", "tests", "golden",
                                               "preset-" GOLDEN_PRESET "-96x64.rgb8", NULL);
  NsParams p;
  g_autofree gchar *weights = shipped_preset (&p);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImage) photo = generated_image (GOLDEN_W, GOLDEN_H, 3);
  g_autoptr (NsImage) img = ns_image_copy (photo, NULL);
  g_assert_true (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autofree guint8 *got = to_rgb8 (img);
  const size_t n = (size_t) GOLDEN_W * GOLDEN_H * 3;
  if (g_getenv ("NS_UPDATE_GOLDEN"))
    g_assert_true (g_file_set_contents (golden, (const char *) got, n, NULL));
  g_autofree gchar *want = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (golden, &want, &len, NULL));
  g_assert_cmpuint (len, ==, n);
  int worst = 0;
  double sum = 0;
  for (size_t j = 0; j < n; j++)
    {
      int d = abs ((int) got[j] - (int) (guint8) want[j]);
      worst = MAX (worst, d);
      sum += d;
    }
  g_test_message ("golden %s: worst %d/255, mean %.3f/255", GOLDEN_PRESET, worst, sum / n);
  g_assert_cmpint (worst, <=, 2);
  g_assert_cmpfloat (sum / n, <=, 0.25);

  /* strength: the photo at beta 0, then further from it as beta grows to
   * alpha (the trained row, also for any larger beta) */
  const double betas[] = { 0, 0.03, 0.1, 0.3, 1 };
  double prev = -1;
  for (guint i = 0; i < G_N_ELEMENTS (betas); i++)
    {
      g_autoptr (NsImage) x = ns_image_copy (photo, NULL);
      p.beta = betas[i];
      p.alpha = 1;
      g_assert_true (ns_stylize (&p, x, NULL, NULL, NULL, &error));
      double d = mean_abs_diff (x, photo);
      g_test_message ("beta %-4g: mean |result - photo| = %.4f", betas[i], d);
      if (i == 0)
        g_assert_cmpfloat (d, <, 0.02);
      else
        g_assert_cmpfloat (d, >, prev);
      prev = d;
    }
}

/* A seed is a variation: another seed paints other strokes (the photo
 * mirrored and moved against the network's stride lattice), the same seed
 * the same bytes, and the result stays in register with the photo: at
 * beta 0 (the identity row) every seed returns the photo itself, which a
 * mirror or crop off by a pixel would not. */
static void
test_variations (void)
{
  NsParams p;
  g_autofree gchar *weights = shipped_preset (&p);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImage) photo = generated_image (GOLDEN_W, GOLDEN_H, 3);
  g_autoptr (NsImage) base = ns_image_copy (photo, NULL);
  g_assert_true (ns_stylize (&p, base, NULL, NULL, NULL, &error));
  for (guint32 seed = 1; seed <= 9; seed++)
    {
      g_autoptr (NsImage) a = ns_image_copy (photo, NULL);
      g_autoptr (NsImage) b = ns_image_copy (photo, NULL);
      g_autoptr (NsImage) id = ns_image_copy (photo, NULL);
      p.seed = seed;
      p.beta = 1;
      g_assert_true (ns_stylize (&p, a, NULL, NULL, NULL, &error));
      g_assert_true (ns_stylize (&p, b, NULL, NULL, NULL, &error));
      p.beta = 0;
      g_assert_true (ns_stylize (&p, id, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (a->data, sizeof (float) * GOLDEN_W * GOLDEN_H * 3,
                       b->data, sizeof (float) * GOLDEN_W * GOLDEN_H * 3);
      double d = mean_abs_diff (a, base), off = mean_abs_diff (id, photo);
      g_test_message ("seed %u: mean |difference| to seed 0 %.4f; at beta 0 "
                      "to the photo %.4f", seed, d, off);
      g_assert_cmpfloat (d, >, 0.03);
      g_assert_cmpfloat (off, <, 0.01);
    }
}

/* The model's kept generator (ns_preset_model_take_generator): planned
 * again for every size, it gives the same bits as a new generator, sizes
 * alternating; two runs at once get two generators; a large plan is not
 * kept. */
static void
forward_of (NsGenerator *g, const NsImage *photo, const float *mix, float *out)
{
  g_autoptr (NsPlanes) in = ns_planes_from_image_rgb (photo, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_generator_forward (g, out, in->data, mix, 1, in->h, in->w, FALSE,
                                       &error));
  g_assert_no_error (error);
}

static void
test_kept_generator (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsPresetModel) m = ns_preset_model_open (f->net, &error);
  g_assert_no_error (error);
  const NsWeights *w = ns_preset_model_weights (m);
  g_autofree float *mix = g_new0 (float, ns_weights_n_styles (w));
  mix[ns_weights_style_index (w, "a")] = 1;
  /* 38x29 pads as 37x29 does: the same plan's buffers, another crop */
  static const int sizes[][2] = { { 37, 29 }, { 64, 48 }, { 38, 29 }, { 37, 29 }, { 64, 48 } };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const int sw = sizes[i][0], sh = sizes[i][1];
      const size_t len = (size_t) 3 * sw * sh;
      g_autoptr (NsImage) photo = generated_image (sw, sh, 3);
      g_autofree float *want = g_new (float, len), *got = g_new (float, len);
      g_autoptr (NsGenerator) fresh = ns_generator_new_from_weights (w, &error);
      g_assert_no_error (error);
      forward_of (fresh, photo, mix, want);
      NsGenerator *g = ns_preset_model_take_generator (m, &error);
      g_assert_no_error (error);
      /* the first take makes one; later ones get it back, planned */
      g_assert_true ((ns_generator_plan_bytes (g) > 0) == (i > 0));
      forward_of (g, photo, mix, got);
      g_assert_cmpmem (got, sizeof (float) * len, want, sizeof (float) * len);
      ns_preset_model_give_back_generator (m, g);
    }

  /* two at once: the kept one and a new one; one of them is kept */
  NsGenerator *a = ns_preset_model_take_generator (m, NULL);
  NsGenerator *b = ns_preset_model_take_generator (m, NULL);
  g_assert_true (a != b);
  g_assert_cmpuint (ns_generator_plan_bytes (a), >, 0);
  g_assert_cmpuint (ns_generator_plan_bytes (b), ==, 0);
  ns_preset_model_give_back_generator (m, b);
  ns_preset_model_give_back_generator (m, a);
  NsGenerator *c = ns_preset_model_take_generator (m, NULL);
  g_assert_true (c == a || c == b);

  /* a plan over the bound is freed on giving back (planned, not run) */
  int side = 256;
  while (ns_generator_plan_bytes (c) <= NS_PRESET_KEPT_PLAN_MAX_BYTES)
    {
      side *= 2;
      g_assert_true (ns_generator_plan (c, 1, side, side, FALSE, &error));
    }
  ns_preset_model_give_back_generator (m, c);
  NsGenerator *d = ns_preset_model_take_generator (m, NULL);
  g_assert_cmpuint (ns_generator_plan_bytes (d), ==, 0);
  ns_preset_model_give_back_generator (m, d);
}

/* ns_stylize from several threads at once on two models (the dialog's
 * preview worker beside a full render): every result the same bits as
 * the same run alone, over three presets of two files, two sizes and five
 * seeds. */
#define THREADS     3
#define THREAD_RUNS 6

typedef struct
{
  const Fixture *f;
  NsImage      **want;   /* [THREADS + THREAD_RUNS] */
  int            thread;
  int            mismatches;
} StylizeThread;

static NsImage *
stylized (const Fixture *f, int run)
{
  static const char *const presets[] = { "b", "a", "c" };
  g_autofree gchar *other = g_build_filename (f->dir, "other.nsw", NULL);
  NsParams p;
  ns_params_init (&p);
  p.preset = presets[run % 3];
  p.weights_path = run % 3 == 2 ? other : f->net;
  p.seed = run % 5;
  NsImage *img = generated_image (run % 2 ? 61 : 40, run % 2 ? 33 : 52, 3);
  if (!ns_stylize (&p, img, NULL, NULL, NULL, NULL))
    g_clear_pointer (&img, ns_image_free);
  return img;
}

static gpointer
stylize_thread (gpointer data)
{
  StylizeThread *t = data;
  for (int i = 0; i < THREAD_RUNS; i++)
    {
      const int run = t->thread + i;
      g_autoptr (NsImage) got = stylized (t->f, run);
      const NsImage *want = t->want[run];
      if (!got || got->width != want->width || got->height != want->height
          || memcmp (got->data, want->data,
                     sizeof (float) * want->width * want->height * 3) != 0)
        t->mismatches++;
    }
  return NULL;
}

static void
test_threads (Fixture *f, gconstpointer data)
{
  NsImage *want[THREADS + THREAD_RUNS];
  for (int run = 0; run < THREADS + THREAD_RUNS; run++)
    g_assert_nonnull (want[run] = stylized (f, run));
  StylizeThread t[THREADS];
  GThread *threads[THREADS];
  for (int i = 0; i < THREADS; i++)
    {
      t[i] = (StylizeThread) { f, want, i, 0 };
      threads[i] = g_thread_new ("stylize", stylize_thread, &t[i]);
    }
  for (int i = 0; i < THREADS; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpint (t[i].mismatches, ==, 0);
    }
  for (int run = 0; run < THREADS + THREAD_RUNS; run++)
    ns_image_free (want[run]);
}

int
main (int argc, char **argv)
{
  ns_blas_init (argv, NULL);   /* the CPU's BLAS kernel: ns_blas.h */
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/presets/list", Fixture, NULL, fixture_set_up, test_list, fixture_tear_down);
  g_test_add ("/presets/style-image", Fixture, NULL, fixture_set_up, test_style_image,
              fixture_tear_down);
  g_test_add ("/stylize-preset/errors", Fixture, NULL, fixture_set_up, test_errors,
              fixture_tear_down);
  g_test_add ("/stylize-preset/behaviour", Fixture, NULL, fixture_set_up, test_behaviour,
              fixture_tear_down);
  g_test_add ("/stylize-preset/bands", Fixture, NULL, fixture_set_up, test_bands,
              fixture_tear_down);
  g_test_add ("/presets/kept-generator", Fixture, NULL, fixture_set_up,
              test_kept_generator, fixture_tear_down);
  g_test_add ("/stylize-preset/threads", Fixture, NULL, fixture_set_up, test_threads,
              fixture_tear_down);
  g_test_add_func ("/presets/golden", test_golden);
  g_test_add_func ("/presets/variations", test_variations);
  return g_test_run ();
}
