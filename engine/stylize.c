/* ns_stylize: the optimisation path (any style image).
 * This first version only matches the photo's colour distribution to the
 * style's; the optimisation of patch statistics follows. */
#include "ns_stylize.h"
#include "ns_error.h"
#include "ns_imgproc.h"
#include <string.h>

#define NS_DEFAULT_SIZE 512

void
ns_params_init (NsParams *p)
{
  *p = (NsParams) {
    .alpha = 1.0, .beta = 1.0, .iterations = 0, .size = 0,
    .seed = 0, .style_loss = NS_STYLE_LOSS_SWD, .optimizer = NS_OPTIMIZER_ADAM,
  };
}

gboolean
ns_params_validate (const NsParams *p, GError **error)
{
  if (!(p->alpha >= 0) || !(p->beta >= 0) || (p->alpha == 0 && p->beta == 0))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "alpha and beta must be >= 0 and not both 0 (got %g, %g)",
                   p->alpha, p->beta);
      return FALSE;
    }
  if (p->iterations < 0 || p->iterations > 100000)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "iterations must be in 0..100000 (got %d)", p->iterations);
      return FALSE;
    }
  if (p->size < 0 || p->size > 16384)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "size must be in 0..16384 (got %d)", p->size);
      return FALSE;
    }
  if (p->style_loss != NS_STYLE_LOSS_SWD && p->style_loss != NS_STYLE_LOSS_GRAM)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style_loss is not a known loss (%d)", (int) p->style_loss);
      return FALSE;
    }
  if (p->optimizer != NS_OPTIMIZER_ADAM && p->optimizer != NS_OPTIMIZER_LBFGS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "optimizer is not a known optimiser (%d)", (int) p->optimizer);
      return FALSE;
    }
  return TRUE;
}

static gboolean
image_is_valid (const NsImage *img, const char *what, GError **error)
{
  if (!img || !img->data || img->width < 1 || img->height < 1
      || img->channels < 1 || img->channels > 4
      || (guint64) img->width * img->height > NS_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "The %s image is missing or has an invalid size", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
cancelled (const volatile gint *cancel, GError **error)
{
  if (cancel && g_atomic_int_get (cancel))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED, "Stylization cancelled");
      return TRUE;
    }
  return FALSE;
}

gboolean
ns_stylize (const NsParams *p, NsImage *img, NsProgressFunc progress,
            gpointer progress_data, const volatile gint *cancel, GError **error)
{
  g_return_val_if_fail (p != NULL, FALSE);
  if (!ns_params_validate (p, error))
    return FALSE;
  if (!p->style_image)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "The optimisation path needs a style image");
      return FALSE;
    }
  if (!image_is_valid (img, "content", error)
      || !image_is_valid (p->style_image, "style", error))
    return FALSE;
  if (progress)
    progress (0.0, "colour", progress_data);
  if (cancelled (cancel, error))
    return FALSE;

  g_autoptr (NsPlanes) result = ns_planes_from_image_rgb (img, error);
  if (!result)
    return FALSE;
  g_autoptr (NsPlanes) style = ns_planes_from_image_rgb (p->style_image, error);
  if (!style)
    return FALSE;
  size_t n = (size_t) img->width * img->height;
  size_t ns = (size_t) style->w * style->h;
  double mc[3], cc[9], ms[3], cs[9], m[9], off[3];
  /* statistics from about a million samples are plenty */
  ns_colour_stats (result->data, n, MAX (1, n >> 20), mc, cc);
  ns_colour_stats (style->data, ns, MAX (1, ns >> 20), ms, cs);
  ns_colour_transfer_map (mc, cc, ms, cs, m, off);
  ns_colour_apply (result->data, n, m, off);
  if (progress)
    progress (1.0, "done", progress_data);
  if (cancelled (cancel, error))
    return FALSE;
  ns_planes_to_image_rgb (result, img);
  return TRUE;
}
