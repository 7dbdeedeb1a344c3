/* First-order optimisers for the optimisation path, on a flat float vector. */
#pragma once
#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* ---- Adam (optim_adam.c) ------------------------------------------------ */
typedef struct
{
  size_t n;
  float  lr, beta1, beta2, eps;
  int    t;            /* steps taken */
  float *m, *v;        /* first and second moments */
} NsAdam;

/* One Adam update of n values in place, step t >= 1 (bias corrections
 * folded into the step size): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
 * x -= lr * m_hat / (sqrt(v_hat) + eps), then x is clamped to [lo, hi]
 * (-INFINITY, INFINITY for none).  Values whose mask entry is 0 are left
 * alone (mask NULL: all move).  The optimisation path's NsAdam and the
 * trainer's parallel blocks both update through it. */
void ns_adam_update (float *x, const float *grad, float *m, float *v, size_t n,
                     const guint8 *mask, float lr, float beta1, float beta2,
                     float eps, int t, float lo, float hi);

/* beta1 0.9, beta2 0.999, eps 1e-8.  NS_ERROR_NO_MEMORY on failure. */
gboolean ns_adam_init  (NsAdam *adam, size_t n, float lr, GError **error);
/* x -= lr * m_hat / (sqrt(v_hat) + eps), then x is clamped to [lo, hi] */
void     ns_adam_step  (NsAdam *adam, float *x, const float *grad, float lo, float hi);
void     ns_adam_clear (NsAdam *adam);

/* ---- L-BFGS (optim_lbfgs.c) --------------------------------------------- */

/* The objective: returns f(x) and writes its gradient (overwrites grad). */
typedef double (*NsObjectiveFunc) (const float *x, float *grad, gpointer data);

typedef struct
{
  size_t  n;
  int     history;      /* pairs (s, y) kept */
  int     count, head;  /* pairs stored, next slot */
  float  *s, *y;        /* [history][n] */
  double *rho;          /* 1 / (y . s) */
  float  *dir, *x_old, *g_old;
  double  f;            /* f at x, valid once started */
  gboolean started;
} NsLbfgs;

gboolean ns_lbfgs_init  (NsLbfgs *lb, size_t n, int history, GError **error);
/* One iteration: a two-loop-recursion direction and a backtracking
 * (Armijo) line search, projected on [lo, hi].  grad holds the gradient at
 * x on return.  Returns the number of objective evaluations. */
int      ns_lbfgs_step  (NsLbfgs *lb, float *x, float *grad, float lo, float hi,
                         NsObjectiveFunc f, gpointer data);
/* Forget the curvature pairs (after the objective changed). */
void     ns_lbfgs_reset (NsLbfgs *lb);
void     ns_lbfgs_clear (NsLbfgs *lb);

G_END_DECLS
