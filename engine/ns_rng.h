/* A small seeded generator (xoshiro128**), so every run is reproducible
 * from its seed whatever libc or platform it runs on. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct { guint32 s[4]; } NsRng;

void   ns_rng_init    (NsRng *rng, guint64 seed);
guint32 ns_rng_u32    (NsRng *rng);
/* uniform in [0, 1) */
float  ns_rng_uniform (NsRng *rng);
/* standard normal (Box-Muller) */
float  ns_rng_normal  (NsRng *rng);
/* uniform integer in [0, n) ; n > 0 */
guint32 ns_rng_below  (NsRng *rng, guint32 n);

G_END_DECLS
