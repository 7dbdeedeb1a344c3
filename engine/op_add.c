/* Residual add: out = a + b.  The gradient passes through to both inputs. */
#include "ns_ops.h"

void
ns_add_forward (float *out, const float *a, const float *b, size_t len)
{
  for (size_t i = 0; i < len; i++)
    out[i] = a[i] + b[i];
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
