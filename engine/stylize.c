#include "ns_stylize.h"
#include "ns_error.h"

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
  return TRUE;
}

gboolean
ns_stylize (const NsParams *p, NsImage *img, NsProgressFunc progress,
            gpointer progress_data, const volatile gint *cancel, GError **error)
{
  if (!ns_params_validate (p, error))
    return FALSE;
  g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
               "No stylization path is built yet");
  return FALSE;
}
