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
ns_adam_update (float *x, const float *grad, float *m, float *v, size_t n,
                const guint8 *mask, float lr, float beta1, float beta2,
                float eps, int t, float lo, float hi)
{
  const float c1 = 1.0f - powf (beta1, t), c2 = 1.0f - powf (beta2, t);
  const float step = lr * sqrtf (c2) / c1, eps_t = eps * sqrtf (c2);
  for (size_t i = 0; i < n; i++)
    {
      if (mask && !mask[i])
        continue;
      float g = grad[i];
      m[i] = beta1 * m[i] + (1.0f - beta1) * g;
      v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
      float xi = x[i] - step * m[i] / (sqrtf (v[i]) + eps_t);
      x[i] = xi < lo ? lo : xi > hi ? hi : xi;
    }
}

void
ns_adam_step (NsAdam *adam, float *x, const float *grad, float lo, float hi)
{
  adam->t++;
  ns_adam_update (x, grad, adam->m, adam->v, adam->n, NULL, adam->lr, adam->beta1,
                  adam->beta2, adam->eps, adam->t, lo, hi);
}

void
ns_adam_clear (NsAdam *adam)
{
  g_clear_pointer (&adam->m, g_free);
  g_clear_pointer (&adam->v, g_free);
}
