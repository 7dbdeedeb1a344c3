/* Residual add: out = a + b.  The gradient passes through to both inputs.
 * A large forward runs in parts on the conv kernels' pool (the generator's
 * five residual adds at 1 MP were ~20 M floats on one core). */
#include "ns_ops.h"
#include "tasks.h"

/* NS_TASK_PART floats a task adds; below two parts, all here */

typedef struct
{
  float *out;
  const float *a, *b;
  size_t len;
} AddJob;

static void
add_part (gpointer data, int part, int thread)
{
  const AddJob *j = data;
  const size_t off = (size_t) part * NS_TASK_PART, end = MIN (off + NS_TASK_PART, j->len);
  (void) thread;
  for (size_t i = off; i < end; i++)
    j->out[i] = j->a[i] + j->b[i];
}

void
ns_add_forward (float *out, const float *a, const float *b, size_t len)
{
  AddJob j = { out, a, b, len };
  ns_tasks_run (ns_task_parts (len), add_part, &j);
}

void
ns_add_backward (float *da, float *db, const float *dout, size_t len)
{
  if (da)
    for (size_t i = 0; i < len; i++)
      da[i] += dout[i];
  if (db)
    for (size_t i = 0; i < len; i++)
      db[i] += dout[i];
}
