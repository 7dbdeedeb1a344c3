/* ns_stylize: one straight path for every run.  It validates the request,
 * resolves the style (a preset model, or the style image), hands the image
 * to one of the two paths (ns_stylize_paths.h), and finishes what they
 * return the same way: guided upsampling to the input's size, the photo's
 * chroma when asked, written back into the image.
 *
 * The full-size image is never held as floats: the paths and the finish
 * read it a band of rows at a time from the caller (NsImageBands) and the
 * finish writes the result back the same way, so the memory of a run is set
 * by the working size, the image's width and the band, not by its height. */
#include "ns_stylize.h"
#include "ns_error.h"
#include "ns_imgproc.h"
#include "ns_presets.h"
#include "ns_stylize_paths.h"
#include <string.h>

static gboolean
image_is_valid (int width, int height, int channels, const char *what, GError **error)
{
  if (width < 1 || height < 1 || channels < 1 || channels > 4
      || (guint64) width * height > NS_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "The %s image is missing or has an invalid size", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
nsimage_is_valid (const NsImage *img, const char *what, GError **error)
{
  if (img && img->data)
    return image_is_valid (img->width, img->height, img->channels, what, error);
  return image_is_valid (0, 0, 0, what, error);
}

/* ---- the photo, read a band at a time ----------------------------------- */

int
ns_stylize_band_rows (const NsImageBands *img)
{
  return CLAMP (img->band_rows > 0 ? img->band_rows : NS_BAND_ROWS, 1, img->height);
}

typedef struct
{
  const NsImageBands  *img;
  const NsStylizeWork *w;        /* its colour map, or NULL for the photo */
  float               *pixels;   /* one band, as the caller's floats */
} PhotoRows;

/* NsRowsFunc: the photo's rows as RGB planes, colour mapped when asked. */
static void
photo_rows (gpointer data, int y0, int n, float *planes)
{
  PhotoRows *r = data;
  r->img->read (r->img->data, y0, n, r->pixels);
  NsImage band = { r->img->width, n, r->img->channels, r->pixels };
  ns_planes_read_image_rgb (planes, &band);
  if (r->w && r->w->mapped)
    ns_colour_apply (planes, (size_t) n * r->img->width, r->w->map, r->w->off);
}

static float *
band_pixels (const NsImageBands *img, GError **error)
{
  float *p = g_try_malloc_n ((gsize) ns_stylize_band_rows (img) * img->width * img->channels,
                             sizeof (float));
  if (!p)
    g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                 "Out of memory for a band of a %d x %d image", img->width, img->height);
  return p;
}

NsPlanes *
ns_stylize_photo_resized (const NsImageBands *img, const NsStylizeWork *w, int h,
                          int ww, gboolean halve, const NsProgress *pr, GError **error)
{
  g_autofree float *pixels = band_pixels (img, error);
  if (!pixels)
    return NULL;
  PhotoRows r = { img, w, pixels };
  return ns_rows_resized (photo_rows, &r, 3, img->height, img->width, h, ww, halve,
                          ns_stylize_band_rows (img), pr->cancel, error);
}

gboolean
ns_stylize_photo_stats (const NsImageBands *img, double mean[3], double cov[9],
                        const NsProgress *pr, GError **error)
{
  int rows = ns_stylize_band_rows (img), W = img->width;
  g_autofree float *pixels = band_pixels (img, error);
  g_autofree float *planes = pixels ? g_try_malloc_n ((gsize) 3 * rows * W, sizeof (float))
                                    : NULL;
  if (!planes)
    {
      if (pixels)
        g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY, "Out of memory for a band");
      return FALSE;
    }
  /* the samples of ns_colour_stats over the whole image: about a million */
  size_t n_full = (size_t) W * img->height, step = MAX (1, n_full >> 20);
  NsColourSums sums = { .count = 0 };
  PhotoRows r = { img, NULL, pixels };
  for (int y0 = 0; y0 < img->height; y0 += rows)
    {
      if (ns_progress_cancelled (pr, error))
        return FALSE;
      int n = MIN (rows, img->height - y0);
      size_t first = (size_t) y0 * W;
      photo_rows (&r, y0, n, planes);
      ns_colour_sums_add (&sums, planes, (size_t) n * W, (step - first % step) % step, step);
    }
  ns_colour_sums_result (&sums, mean, cov);
  return TRUE;
}

/* ---- the run ------------------------------------------------------------ */

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

/* Band by band: the guide (the photo, colour mapped when the path says so)
 * brought up against x, the photo's chroma when asked, written back. */
static gboolean
finish (const NsParams *p, const NsStylizeWork *w, const NsImageBands *img,
        const NsProgress *pr, GError **error)
{
  if (!ns_progress_report (pr, NS_STYLIZE_FINISH, "upsampling", error))
    return FALSE;
  int H = img->height, W = img->width, rows = ns_stylize_band_rows (img);
  gsize band_n = (gsize) rows * W;
  gboolean up = w->x->h != H || w->x->w != W;
  g_autoptr (NsGuidedUp) gu = up ? ns_guided_up_new (w->guide_lo, w->x, H, W,
                                                     NS_GUIDE_RADIUS, NS_GUIDE_EPS, rows,
                                                     error)
                                 : NULL;
  g_autofree float *pixels = band_pixels (img, error);
  g_autoptr (NsPlanes) work = pixels ? ns_planes_new (6, rows, W, error) : NULL;
  if ((up && !gu) || !work)
    return FALSE;
  float *result = work->data, *photo = result + 3 * band_n;
  /* what of a band as read is kept: its alpha, the photo for the upsampling
   * or for its chroma (else its pixels are all written anew) */
  const gboolean alpha = img->channels == 2 || img->channels == 4;
  const gboolean read = alpha || up || p->preserve_colors;
  for (int y0 = 0; y0 < H; y0 += rows)
    {
      /* the last band's report comes after the whole image is written */
      if (y0 > 0 && !ns_progress_report (pr, NS_STYLIZE_FINISH + (1 - NS_STYLIZE_FINISH)
                                                * y0 / H, "upsampling", error))
        return FALSE;
      int n = MIN (rows, H - y0);
      gsize count = (gsize) n * W;
      if (read)
        img->read (img->data, y0, n, pixels);
      NsImage band = { W, n, img->channels, pixels };
      if (up || p->preserve_colors)
        ns_planes_read_image_rgb (photo, &band);
      for (int c = 0; c < 3; c++)
        {
          float *dst = result + c * count;
          if (up)
            memcpy (dst, photo + c * count, sizeof (float) * count);
          else
            memcpy (dst, w->x->data + ((gsize) c * H + y0) * W, sizeof (float) * count);
        }
      if (up && w->mapped)
        ns_colour_apply (result, count, w->map, w->off);
      if (up)
        ns_guided_up_rows (gu, result, count, y0, n);
      if (p->preserve_colors)
        ns_keep_chroma (result, photo, count);
      ns_planes_to_image_rgb (&(NsPlanes) { 3, n, W, result }, &band);
      img->write (img->data, y0, n, pixels);
    }
  ns_progress_report (pr, 1, "done", NULL);
  return TRUE;
}

gboolean
ns_stylize_bands (const NsParams *p, const NsImageBands *img, NsProgressFunc progress,
                  gpointer progress_data, const volatile gint *cancel, GError **error)
{
  g_return_val_if_fail (p != NULL && img != NULL, FALSE);
  if (!ns_params_validate (p, error)
      || !image_is_valid (img->width, img->height, img->channels, "content", error)
      || (p->style_image && !nsimage_is_valid (p->style_image, "style", error)))
    return FALSE;
  if (!img->read || !img->write)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "The content image has no rows to read or write");
      return FALSE;
    }
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
  return ok;
}

gboolean
ns_stylize (const NsParams *p, NsImage *img, NsProgressFunc progress,
            gpointer progress_data, const volatile gint *cancel, GError **error)
{
  g_return_val_if_fail (p != NULL, FALSE);
  if (!ns_params_validate (p, error) || !nsimage_is_valid (img, "content", error))
    return FALSE;
  /* the result goes into a copy, so that a cancel during the write-back
   * leaves img as it was */
  g_autoptr (NsImage) out = ns_image_new (img->width, img->height, img->channels, error);
  if (!out)
    return FALSE;
  NsImageRows io = { img, out };
  NsImageBands bands = ns_image_rows_bands (&io, 0);
  if (!ns_stylize_bands (p, &bands, progress, progress_data, cancel, error))
    return FALSE;
  memcpy (img->data, out->data,
          sizeof (float) * img->width * img->height * img->channels);
  return TRUE;
}
