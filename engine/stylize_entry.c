/* ns_stylize: one straight path for every run.  It validates the request,
 * resolves the style (a preset model, or the style image), hands the image
 * to one of the two paths (ns_stylize_paths.h), and finishes what they
 * return the same way: guided upsampling to the input's size, the photo's
 * chroma when asked, written back into the image. */
#include "ns_stylize.h"
#include "ns_error.h"
#include "ns_imgproc.h"
#include "ns_presets.h"
#include "ns_stylize_paths.h"

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

/* p's preset model: the caller's, or its weight file opened now. */
static NsPresetModel *
preset_model (const NsParams *p, GError **error)
{
  if (p->model)
    return ns_preset_model_ref (p->model);
  if (p->weights_path)
    return ns_preset_model_open (p->weights_path, error);
  g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
               "preset '%s' has no model: open its weights with ns_preset_model_open",
               p->preset);
  return NULL;
}

static gboolean
finish (const NsParams *p, NsStylizeWork *w, NsImage *img, const NsProgress *pr,
        GError **error)
{
  if (!ns_progress_report (pr, NS_STYLIZE_FINISH, "upsampling", error))
    return FALSE;
  NsPlanes *result = w->x;
  if (w->x->h != img->height || w->x->w != img->width)
    {
      if (!ns_guided_upsample (w->guide, w->guide_lo, w->x, NS_GUIDE_RADIUS, NS_GUIDE_EPS,
                               pr->cancel, error))
        return FALSE;
      result = w->guide;
    }
  if (p->preserve_colors)
    ns_keep_chroma (result->data, w->photo->data, (size_t) img->width * img->height);
  if (!ns_progress_report (pr, 1, "done", error))
    return FALSE;
  ns_planes_to_image_rgb (result, img);
  return TRUE;
}

gboolean
ns_stylize (const NsParams *p, NsImage *img, NsProgressFunc progress,
            gpointer progress_data, const volatile gint *cancel, GError **error)
{
  g_return_val_if_fail (p != NULL, FALSE);
  if (!ns_params_validate (p, error) || !image_is_valid (img, "content", error)
      || (p->style_image && !image_is_valid (p->style_image, "style", error)))
    return FALSE;
  NsProgress pr = ns_progress_whole (progress, progress_data, cancel);
  NsStylizeWork w = { 0 };
  gboolean ok;
  if (p->preset)
    {
      g_autoptr (NsPresetModel) model = preset_model (p, error);
      ok = model && ns_stylize_preset_path (p, model, img, &pr, &w, error);
    }
  else
    ok = ns_stylize_image_path (p, img, &pr, &w, error);
  ok = ok && finish (p, &w, img, &pr, error);
  ns_planes_free (w.x);
  ns_planes_free (w.guide_lo);
  ns_planes_free (w.guide);
  ns_planes_free (w.photo);
  return ok;
}
