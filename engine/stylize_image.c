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

/* Colour statistics from about a million samples are plenty. */
static void
stats (const NsPlanes *img, double mean[3], double cov[9])
{
  size_t n = (size_t) img->h * img->w;
  ns_colour_stats (img->data, n, MAX (1, n >> 20), mean, cov);
}

gboolean
ns_stylize_image_path (const NsParams *p, const NsImageBands *img, const NsProgress *pr,
                       NsStylizeWork *out, GError **error)
{
  if (!ns_progress_report (pr, 0, "colour", error))
    return FALSE;

  /* 1. colours: the full-size photo is read a band at a time, once for its
   * statistics and once, colour mapped, for the working size; the finish
   * reads it a third time as the guide */
  g_autoptr (NsPlanes) style = ns_planes_from_image_rgb (p->style_image, error);
  double mc[3], cc[9], ms[3], cs[9];
  if (!style || !ns_stylize_photo_stats (img, mc, cc, pr, error))
    return FALSE;
  stats (style, ms, cs);
  /* guide: the full-size photo the result is built on (colour matched
   * unless the photo's colours are kept) */
  if (p->preserve_colors)
    {
      double map[9], off[3];
      ns_colour_transfer_map (ms, cs, mc, cc, map, off);
      ns_colour_apply (style->data, (size_t) style->h * style->w, map, off);
    }
  else
    {
      out->mapped = TRUE;
      ns_colour_transfer_map (mc, cc, ms, cs, out->map, out->off);
    }
  if (!ns_progress_report (pr, 0, "colour", error))
    return FALSE;

  /* 2. optimisation at the working size, coarse to fine */
  int side = MIN (p->size > 0 ? p->size : NS_OPTIMISE_SIZE, MAX (img->width, img->height));
  int wh, ww;
  ns_fit_long_side (img->height, img->width, side, &wh, &ww);
  g_autoptr (NsPlanes) content = ns_stylize_photo_resized (img, out, wh, ww, TRUE, pr,
                                                           error);
  if (!content || !ns_progress_report (pr, 0, "colour", error))
    return FALSE;
  NsProgress part = ns_progress_part (pr, 0, NS_STYLIZE_FINISH);
  out->x = ns_optimise (p, NS_OPTIMISE_PYRAMID, content, style, &part, error);
  if (!out->x)
    return FALSE;
  out->guide_lo = g_steal_pointer (&content);
  return TRUE;
}
