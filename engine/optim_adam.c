/* Adam (Kingma & Ba 2015) with a box projection. */
#include "ns_optim.h"
#include "ns_error.h"
#include <math.h>

gboolean
ns_adam_init (NsAdam *adam, size_t n, float lr, GError **error)
{
  *adam = (NsAdam) { .n = n, .lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
  adam->m = g_try_malloc0_n (MAX (n, 1), sizeof (float));
  adam->v = g_try_malloc0_n (MAX (n, 1), sizeof (float));
  if (!adam->m || !adam->v)
    {
      ns_adam_clear (adam);
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "Out of memory for the optimiser state");
      return FALSE;
    }
  return TRUE;
}

void
ns_adam_step (NsAdam *adam, float *x, const float *grad, float lo, float hi)
{
  adam->t++;
  float b1 = adam->beta1, b2 = adam->beta2;
  /* bias corrections folded into the step size */
  float c1 = 1.0f - powf (b1, adam->t), c2 = 1.0f - powf (b2, adam->t);
  float step = adam->lr * sqrtf (c2) / c1;
  float eps = adam->eps * sqrtf (c2);
  for (size_t i = 0; i < adam->n; i++)
    {
      float g = grad[i];
      float m = adam->m[i] = b1 * adam->m[i] + (1.0f - b1) * g;
      float v = adam->v[i] = b2 * adam->v[i] + (1.0f - b2) * g * g;
      float xi = x[i] - step * m / (sqrtf (v) + eps);
      x[i] = xi < lo ? lo : xi > hi ? hi : xi;
    }
}

void
ns_adam_clear (NsAdam *adam)
{
  g_clear_pointer (&adam->m, g_free);
  g_clear_pointer (&adam->v, g_free);
}
