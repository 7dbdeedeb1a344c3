/* Mean squared and mean absolute error.  Forward sums in double: a loss over
 * a whole image adds millions of terms. */
#include "ns_ops.h"
#include <math.h>

double
ns_mse_forward (const float *a, const float *b, size_t len)
{
  double sum = 0.0;
  for (size_t i = 0; i < len; i++)
    {
      double d = (double) a[i] - b[i];
      sum += d * d;
    }
  return len ? sum / len : 0.0;
}

void
ns_mse_backward (float *da, float *db, const float *a, const float *b,
                 size_t len, float scale)
{
  if (!len)
    return;
  const float k = (float) (2.0 * scale / len);
  for (size_t i = 0; i < len; i++)
    {
      float g = k * (a[i] - b[i]);
      if (da)
        da[i] += g;
      if (db)
        db[i] -= g;
    }
}

double
ns_mae_forward (const float *a, const float *b, size_t len)
{
  double sum = 0.0;
  for (size_t i = 0; i < len; i++)
    sum += fabs ((double) a[i] - b[i]);
  return len ? sum / len : 0.0;
}

/* d|a-b|/da is sign(a-b); 0 where a == b (a valid subgradient). */
void
ns_mae_backward (float *da, float *db, const float *a, const float *b,
                 size_t len, float scale)
{
  if (!len)
    return;
  const float k = (float) ((double) scale / len);
  for (size_t i = 0; i < len; i++)
    {
      float g = a[i] > b[i] ? k : a[i] < b[i] ? -k : 0.0f;
      if (da)
        da[i] += g;
      if (db)
        db[i] -= g;
    }
}
