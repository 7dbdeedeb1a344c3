#include "ns_rng.h"
#include <math.h>

static inline guint32
rotl (guint32 x, int k)
{
  return (x << k) | (x >> (32 - k));
}

/* splitmix64 spreads any seed (even 0) over the whole state */
static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
ns_rng_init (NsRng *rng, guint64 seed)
{
  guint64 a = splitmix64 (&seed), b = splitmix64 (&seed);
  rng->s[0] = (guint32) a;
  rng->s[1] = (guint32) (a >> 32);
  rng->s[2] = (guint32) b;
  rng->s[3] = (guint32) (b >> 32);
}

guint32
ns_rng_u32 (NsRng *rng)
{
  guint32 *s = rng->s;
  guint32 result = rotl (s[1] * 5, 7) * 9;
  guint32 t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 11);
  return result;
}

float
ns_rng_uniform (NsRng *rng)
{
  return (ns_rng_u32 (rng) >> 8) * (1.0f / 16777216.0f);
}

float
ns_rng_normal (NsRng *rng)
{
  /* 1 - u keeps the log argument in (0, 1] */
  float u = 1.0f - ns_rng_uniform (rng), v = ns_rng_uniform (rng);
  return sqrtf (-2.0f * logf (u)) * cosf (6.2831853f * v);
}

guint32
ns_rng_below (NsRng *rng, guint32 n)
{
  return (guint32) (((guint64) ns_rng_u32 (rng) * n) >> 32);
}
