#include "ns_error.h"

G_DEFINE_QUARK (ns-error-quark, ns_error)
