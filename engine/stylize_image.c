/* ns_stylize with a style image: the any-image path.
 *
 * 1. The photo's colours are moved onto the style's (linear Monge-Kantorovich
 *    map), or with preserve_colors the style's onto the photo's.
 * 2. The optimiser (optimise.c) works coarse to fine at the working size
 *    (p->size on the long side), from the colour-matched photo.
 * 3. ns_stylize's finish brings the result back to the input's size by
 *    guided upsampling, which takes edges and fine detail from the
 *    full-size photo. */
#include "ns_stylize_paths.h"
#include "ns_optimise.h"
#include <string.h>

/* Colour statistics from about a million samples are plenty. */
static void
stats (const NsPlanes *img, double mean[3], double cov[9])
{
  size_t n = (size_t) img->h * img->w;
  ns_colour_stats (img->data, n, MAX (1, n >> 20), mean, cov);
}

gboolean
ns_stylize_image_path (const NsParams *p, const NsImage *img, const NsProgress *pr,
                       NsStylizeWork *out, GError **error)
{
  if (!ns_progress_report (pr, 0, "colour", error))
    return FALSE;

  /* 1. colours */
  g_autoptr (NsPlanes) photo = ns_planes_from_image_rgb (img, error);
  if (!photo)
    return FALSE;
  g_autoptr (NsPlanes) style = ns_planes_from_image_rgb (p->style_image, error);
  /* each full-size pass over a 12 MP photo takes a good fraction of the
   * 0.5 s the caller may wait for a cancel: poll between them */
  if (!style || !ns_progress_report (pr, 0, "colour", error))
    return FALSE;
  size_t n_full = (size_t) img->width * img->height;
  double mc[3], cc[9], ms[3], cs[9], map[9], off[3];
  stats (photo, mc, cc);
  stats (style, ms, cs);
  /* guide: the full-size photo the result is built on (colour matched
   * unless the photo's colours are kept) */
  g_autoptr (NsPlanes) guide = NULL;
  if (p->preserve_colors)
    {
      guide = ns_planes_new (3, photo->h, photo->w, error);
      if (!guide)
        return FALSE;
      memcpy (guide->data, photo->data, sizeof (float) * 3 * n_full);
      ns_colour_transfer_map (ms, cs, mc, cc, map, off);
      ns_colour_apply (style->data, (size_t) style->h * style->w, map, off);
    }
  else
    {
      guide = g_steal_pointer (&photo);
      ns_colour_transfer_map (mc, cc, ms, cs, map, off);
      ns_colour_apply (guide->data, n_full, map, off);
    }
  if (!ns_progress_report (pr, 0, "colour", error))
    return FALSE;

  /* 2. optimisation at the working size, coarse to fine */
  int side = MIN (p->size > 0 ? p->size : NS_OPTIMISE_SIZE, MAX (img->width, img->height));
  int wh, ww;
  ns_fit_long_side (img->height, img->width, side, &wh, &ww);
  g_autoptr (NsPlanes) content = ns_planes_resized (guide, wh, ww, error);
  if (!content || !ns_progress_report (pr, 0, "colour", error))
    return FALSE;
  NsProgress part = ns_progress_part (pr, 0, NS_STYLIZE_FINISH);
  out->x = ns_optimise (p, NS_OPTIMISE_PYRAMID, content, style, &part, error);
  if (!out->x)
    return FALSE;
  out->guide_lo = g_steal_pointer (&content);
  out->guide = g_steal_pointer (&guide);
  out->photo = g_steal_pointer (&photo);
  return TRUE;
}
