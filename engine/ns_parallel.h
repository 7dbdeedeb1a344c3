/* Two halves of a job on two cores (parallel.c). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* func(data, half) for half 0 and 1; half 1 on a persistent helper thread
 * where the machine has two cores, both here otherwise.  Returns when both
 * are done.  The halves must not write the same memory; a caller that
 * reduces their results does so after the call, in a fixed order, so the
 * outcome never depends on the timing. */
typedef void (*NsHalfFunc) (gpointer data, int half);
void ns_parallel2 (NsHalfFunc func, gpointer data);

G_END_DECLS
