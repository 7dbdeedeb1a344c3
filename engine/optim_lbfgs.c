/* Limited-memory BFGS (Nocedal 1980) with a projected backtracking search. */
#include "ns_optim.h"
#include "ns_error.h"
#include <math.h>
#include <string.h>

/* the first step moves no value by more than this */
#define FIRST_STEP 0.05
#define MAX_HALVINGS 12

gboolean
ns_lbfgs_init (NsLbfgs *lb, size_t n, int history, GError **error)
{
  /* the two-loop recursion keeps its coefficients on the stack */
  *lb = (NsLbfgs) { .n = n, .history = CLAMP (history, 1, 64) };
  size_t nn = MAX (n, 1);
  lb->s = g_try_malloc_n (nn * lb->history, sizeof (float));
  lb->y = g_try_malloc_n (nn * lb->history, sizeof (float));
  lb->rho = g_try_malloc_n (lb->history, sizeof (double));
  lb->dir = g_try_malloc_n (nn, sizeof (float));
  lb->x_old = g_try_malloc_n (nn, sizeof (float));
  lb->g_old = g_try_malloc_n (nn, sizeof (float));
  if (!lb->s || !lb->y || !lb->rho || !lb->dir || !lb->x_old || !lb->g_old)
    {
      ns_lbfgs_clear (lb);
      g_set_error (error, NS_ERROR, NS_ERROR_NO_MEMORY,
                   "Out of memory for the L-BFGS history");
      return FALSE;
    }
  return TRUE;
}

static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* dir = -H grad by the two-loop recursion */
static void
direction (NsLbfgs *lb, const float *grad)
{
  size_t n = lb->n;
  double alpha[64];
  memcpy (lb->dir, grad, sizeof (float) * n);
  float *q = lb->dir;
  int newest = (lb->head - 1 + lb->history) % lb->history;
  for (int i = 0; i < lb->count; i++)
    {
      int k = (newest - i + lb->history) % lb->history;
      const float *s = lb->s + k * n, *y = lb->y + k * n;
      alpha[i] = lb->rho[k] * dot (s, q, n);
      for (size_t j = 0; j < n; j++)
        q[j] -= (float) alpha[i] * y[j];
    }
  double gamma;
  if (lb->count > 0)
    {
      const float *s = lb->s + newest * n, *y = lb->y + newest * n;
      gamma = dot (s, y, n) / MAX (dot (y, y, n), 1e-30);
    }
  else
    {
      float gmax = 0;
      for (size_t j = 0; j < n; j++)
        gmax = MAX (gmax, fabsf (grad[j]));
      gamma = FIRST_STEP / MAX (gmax, 1e-20f);
    }
  for (size_t j = 0; j < n; j++)
    q[j] *= (float) gamma;
  for (int i = lb->count - 1; i >= 0; i--)
    {
      int k = (newest - i + lb->history) % lb->history;
      const float *s = lb->s + k * n, *y = lb->y + k * n;
      double beta = lb->rho[k] * dot (y, q, n);
      for (size_t j = 0; j < n; j++)
        q[j] += (float) (alpha[i] - beta) * s[j];
    }
  for (size_t j = 0; j < n; j++)
    q[j] = -q[j];
}

int
ns_lbfgs_step (NsLbfgs *lb, float *x, float *grad, float lo, float hi,
               NsObjectiveFunc f, gpointer data)
{
  size_t n = lb->n;
  int evals = 0;
  if (!lb->started)
    {
      lb->f = f (x, grad, data);
      evals++;
      lb->started = TRUE;
    }
  direction (lb, grad);
  if (dot (lb->dir, grad, n) >= 0)
    {
      /* not a descent direction: forget the history, go downhill */
      ns_lbfgs_reset (lb);
      lb->started = TRUE;
      direction (lb, grad);
    }
  memcpy (lb->x_old, x, sizeof (float) * n);
  memcpy (lb->g_old, grad, sizeof (float) * n);
  double f_old = lb->f, t = 1.0, f_new = f_old;
  for (int halving = 0; halving <= MAX_HALVINGS; halving++, t *= 0.5)
    {
      double decrease = 0;
      for (size_t j = 0; j < n; j++)
        {
          float v = lb->x_old[j] + (float) t * lb->dir[j];
          x[j] = v < lo ? lo : v > hi ? hi : v;
          decrease += (double) lb->g_old[j] * (x[j] - lb->x_old[j]);
        }
      f_new = f (x, grad, data);
      evals++;
      if (f_new <= f_old + 1e-4 * decrease)
        break;
    }
  if (!(f_new <= f_old))
    {
      /* no progress along this direction: stay, restart the history */
      memcpy (x, lb->x_old, sizeof (float) * n);
      memcpy (grad, lb->g_old, sizeof (float) * n);
      ns_lbfgs_reset (lb);
      lb->started = TRUE;
      return evals;
    }
  lb->f = f_new;
  float *s = lb->s + lb->head * n, *y = lb->y + lb->head * n;
  for (size_t j = 0; j < n; j++)
    {
      s[j] = x[j] - lb->x_old[j];
      y[j] = grad[j] - lb->g_old[j];
    }
  double sy = dot (s, y, n);
  if (sy > 1e-12)
    {
      lb->rho[lb->head] = 1.0 / sy;
      lb->head = (lb->head + 1) % lb->history;
      lb->count = MIN (lb->count + 1, lb->history);
    }
  return evals;
}

void
ns_lbfgs_reset (NsLbfgs *lb)
{
  lb->count = 0;
  lb->head = 0;
  lb->started = FALSE;
}

void
ns_lbfgs_clear (NsLbfgs *lb)
{
  g_clear_pointer (&lb->s, g_free);
  g_clear_pointer (&lb->y, g_free);
  g_clear_pointer (&lb->rho, g_free);
  g_clear_pointer (&lb->dir, g_free);
  g_clear_pointer (&lb->x_old, g_free);
  g_clear_pointer (&lb->g_old, g_free);
}
