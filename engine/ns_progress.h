/* The one progress type of a run: the caller's callback, the part of the
 * whole a step of the run covers, and the caller's cancel flag.  Both
 * stylize paths, the optimiser and the generator report through it. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* fraction in [0, 1]; stage is a short human-readable word ("pyramid 2/3") */
typedef void (*NsProgressFunc) (double fraction, const char *stage, gpointer data);

typedef struct
{
  NsProgressFunc       func;     /* NULL = nobody listens */
  gpointer             data;
  double               from, to; /* the part of the whole this covers */
  const volatile gint *cancel;   /* polled at every report; NULL = none */
} NsProgress;

/* The whole run, [0, 1]. */
NsProgress ns_progress_whole (NsProgressFunc func, gpointer data,
                              const volatile gint *cancel);
/* The part [from, to] (fractions of pr's own part) of pr. */
NsProgress ns_progress_part (const NsProgress *pr, double from, double to);

/* TRUE (with NS_ERROR_CANCELLED) once the caller's flag is raised. */
gboolean ns_progress_cancelled (const NsProgress *pr, GError **error);
/* Tells the caller fraction (of pr's part, clamped to [0, 1]) is done,
 * then polls the cancel flag: FALSE with NS_ERROR_CANCELLED once raised. */
gboolean ns_progress_report (const NsProgress *pr, double fraction,
                             const char *stage, GError **error);

G_END_DECLS
