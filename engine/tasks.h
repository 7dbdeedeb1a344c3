/* The conv kernels' worker pool (op_conv2d.c), for other passes over
 * planes (private to the engine). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* func (data, task, thread) for every task in [0, n_tasks), on every core
 * when the pool is free (else all here); `thread` in [0, 8) names the
 * caller's private scratch.  Tasks must not write the same memory: which
 * core runs a task then never changes a result. */
typedef void (*NsTaskFunc) (gpointer data, int task, int thread);
void ns_tasks_run (int n_tasks, NsTaskFunc func, gpointer data);
/* Elements one task of a flat pass over planes takes: a megapixel's
 * planes are then ~100 tasks, so both cores finish together. */
#define NS_TASK_PART (1 << 15)
/* the tasks of NS_TASK_PART elements that cover len */
static inline int
ns_task_parts (size_t len)
{
  return (int) ((len + NS_TASK_PART - 1) / NS_TASK_PART);
}

/* threads the pool may use, so scratch for every `thread` can be sized */
int  ns_tasks_threads (void);

G_END_DECLS
