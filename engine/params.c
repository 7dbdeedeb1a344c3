/* The parameters of a run and their ranges (ns_params.h). */
#include "ns_params.h"
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
  /* beyond NS_WEIGHT_MAX the losses overflow float and paint black */
  if (!(p->alpha >= 0 && p->alpha <= NS_WEIGHT_MAX)
      || !(p->beta >= 0 && p->beta <= NS_WEIGHT_MAX)
      || (p->alpha == 0 && p->beta == 0))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "alpha and beta must be in [0, %g] and not both 0 (got %g, %g)",
                   NS_WEIGHT_MAX, p->alpha, p->beta);
      return FALSE;
    }
  if (p->iterations < 0 || p->iterations > NS_ITERATIONS_MAX)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "iterations must be in [0, %d] (got %d)", NS_ITERATIONS_MAX,
                   p->iterations);
      return FALSE;
    }
  if (p->size != 0 && (p->size < NS_SIZE_MIN || p->size > NS_SIZE_MAX))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "size must be 0 (default) or in [%d, %d] (got %d)",
                   NS_SIZE_MIN, NS_SIZE_MAX, p->size);
      return FALSE;
    }
  if (p->seed > (guint32) NS_SEED_MAX)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "seed must be in [0, %d] (got %u)", NS_SEED_MAX, p->seed);
      return FALSE;
    }
  if (p->style_loss != NS_STYLE_LOSS_SWD && p->style_loss != NS_STYLE_LOSS_GRAM)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "style_loss is not a known loss (%d)", (int) p->style_loss);
      return FALSE;
    }
  if (!p->preset == !p->style_image)
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "give exactly one style: a preset or a style image");
      return FALSE;
    }
  if ((p->preset && !p->preset[0]) || (p->preset2 && (!p->preset2[0] || !p->preset)))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "preset names must not be empty, and a second preset needs a first");
      return FALSE;
    }
  if (!(p->mix >= 0 && p->mix <= 1))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_INVALID_ARGUMENT,
                   "mix must be in [0, 1] (got %g)", p->mix);
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
