/* ns_stylize with a style image: the contract every front end relies on. */
#include "ns_stylize.h"
#include "ns_error.h"
#include "ns_rng.h"
#include <math.h>
#include <string.h>

/* A smooth photo-like picture with some edges, values in [0, 1]. */
static NsImage *
make_image (int w, int h, int channels, guint32 seed)
{
  NsImage *img = ns_image_new (w, h, channels, NULL);
  g_assert_nonnull (img);
  NsRng rng;
  ns_rng_init (&rng, seed);
  float phase = ns_rng_uniform (&rng) * 6.0f;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++)
        {
          float v = 0.5f + 0.3f * sinf (0.11f * x + phase + c)
                    * cosf (0.07f * y + 0.5f * c)
                    + ((x > w / 2) ? 0.15f : -0.1f)
                    + 0.05f * (ns_rng_uniform (&rng) - 0.5f);
          img->data[((size_t) y * w + x) * channels + c] = CLAMP (v, 0.0f, 1.0f);
        }
  return img;
}

/* A style with other colours: reddish stripes. */
static NsImage *
make_style (int w, int h)
{
  NsImage *img = ns_image_new (w, h, 3, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float s = ((x + 2 * y) / 3) % 4 < 2 ? 1.0f : 0.0f;
        float *px = img->data + ((size_t) y * w + x) * 3;
        px[0] = 0.6f + 0.3f * s;
        px[1] = 0.2f + 0.2f * s;
        px[2] = 0.1f + 0.1f * s;
      }
  return img;
}

static void
channel_mean (const NsImage *img, double mean[4])
{
  size_t n = (size_t) img->width * img->height;
  for (int c = 0; c < img->channels; c++)
    {
      double s = 0;
      for (size_t i = 0; i < n; i++)
        s += img->data[i * img->channels + c];
      mean[c] = s / n;
    }
}

static void
setup_params (NsParams *p, const NsImage *style)
{
  ns_params_init (p);
  p->style_image = style;
  p->size = 64;
  p->iterations = 20;
  p->seed = 7;
}

static void
test_colours_move_to_style (void)
{
  g_autoptr (NsImage) img = make_image (80, 60, 3, 1);
  g_autoptr (NsImage) style = make_style (50, 70);
  NsParams p;
  setup_params (&p, style);
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  double mi[4], ms[4];
  channel_mean (img, mi);
  channel_mean (style, ms);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (fabs (mi[c] - ms[c]), <, 0.05);
}

static void
test_alpha_untouched_and_grey_stays_grey (void)
{
  g_autoptr (NsImage) style = make_style (40, 40);
  NsParams p;
  setup_params (&p, style);
  for (int ch = 1; ch <= 4; ch++)
    {
      g_autoptr (NsImage) img = make_image (33, 21, ch, 2);
      g_autoptr (NsImage) before = ns_image_copy (img, NULL);
      g_autoptr (GError) error = NULL;
      g_assert_true (ns_stylize (&p, img, NULL, NULL, NULL, &error));
      size_t n = (size_t) img->width * img->height;
      gboolean has_alpha = ch == 2 || ch == 4;
      gboolean changed = FALSE;
      for (size_t i = 0; i < n; i++)
        {
          if (has_alpha)
            g_assert_cmpfloat (img->data[i * ch + ch - 1], ==,
                               before->data[i * ch + ch - 1]);
          changed |= img->data[i * ch] != before->data[i * ch];
          for (int c = 0; c < ch; c++)
            g_assert_true (img->data[i * ch + c] >= 0.0f && img->data[i * ch + c] <= 1.0f);
        }
      g_assert_true (changed);
    }
}

static void
test_error_leaves_image_untouched (void)
{
  g_autoptr (NsImage) img = make_image (20, 20, 3, 3);
  g_autoptr (NsImage) before = ns_image_copy (img, NULL);
  g_autoptr (NsImage) style = make_style (20, 20);
  NsParams p;
  setup_params (&p, style);
  p.alpha = 0;
  p.beta = 0;
  g_autoptr (GError) error = NULL;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);
  g_assert_cmpmem (img->data, sizeof (float) * 20 * 20 * 3,
                   before->data, sizeof (float) * 20 * 20 * 3);

  g_clear_error (&error);
  setup_params (&p, NULL);
  g_assert_false (ns_stylize (&p, img, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT);

  /* a cancel raised before the call: cancelled, untouched */
  g_clear_error (&error);
  setup_params (&p, style);
  gint cancel = 1;
  g_assert_false (ns_stylize (&p, img, NULL, NULL, &cancel, &error));
  g_assert_error (error, NS_ERROR, NS_ERROR_CANCELLED);
  g_assert_cmpmem (img->data, sizeof (float) * 20 * 20 * 3,
                   before->data, sizeof (float) * 20 * 20 * 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stylize/colours-move-to-style", test_colours_move_to_style);
  g_test_add_func ("/stylize/alpha-untouched-grey-stays-grey",
                   test_alpha_untouched_and_grey_stays_grey);
  g_test_add_func ("/stylize/error-leaves-image-untouched",
                   test_error_leaves_image_untouched);
  return g_test_run ();
}
