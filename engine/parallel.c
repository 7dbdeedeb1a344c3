/* The engine's own split of work over two cores: a fork-join on one
 * persistent helper thread.  The BLAS runs single-threaded inside the
 * halves (its own idle workers would otherwise spin on the second core
 * between the small GEMMs of the optimiser, docs/optimisation.md). */
#include "ns_parallel.h"

typedef struct
{
  NsHalfFunc func;
  gpointer   data;
  GMutex     lock;
  GCond      cond;
  gboolean   done;
} Task;

static void
run_task (gpointer task_ptr, gpointer unused)
{
  Task *task = task_ptr;
  (void) unused;
  task->func (task->data, 1);
  g_mutex_lock (&task->lock);
  task->done = TRUE;
  g_cond_signal (&task->cond);
  g_mutex_unlock (&task->lock);
}

static GThreadPool *
helper_pool (void)
{
  static gsize once = 0;
  static GThreadPool *pool = NULL;
  if (g_once_init_enter (&once))
    {
      if (g_get_num_processors () > 1)
        pool = g_thread_pool_new (run_task, NULL, 1, TRUE, NULL);
      g_once_init_leave (&once, 1);
    }
  return pool;
}

void
ns_parallel2 (NsHalfFunc func, gpointer data)
{
  GThreadPool *pool = helper_pool ();
  Task task = { .func = func, .data = data };
  g_mutex_init (&task.lock);
  g_cond_init (&task.cond);
  if (!pool || !g_thread_pool_push (pool, &task, NULL))
    {
      func (data, 0);
      func (data, 1);   /* one core, or no thread to be had: here, in order */
    }
  else
    {
      func (data, 0);
      g_mutex_lock (&task.lock);
      while (!task.done)
        g_cond_wait (&task.cond, &task.lock);
      g_mutex_unlock (&task.lock);
    }
  g_mutex_clear (&task.lock);
  g_cond_clear (&task.cond);
}
