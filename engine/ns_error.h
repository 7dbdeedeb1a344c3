/* One error domain for the whole engine; every fallible call takes GError **. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define NS_ERROR (ns_error_quark ())

typedef enum
{
  NS_ERROR_IO,               /* a file could not be opened, read or written */
  NS_ERROR_BAD_MAGIC,        /* not a .nsw file */
  NS_ERROR_VERSION,          /* written by a newer major version */
  NS_ERROR_CHECKSUM,         /* data does not match its SHA-256 */
  NS_ERROR_TRUNCATED,        /* the file ends before what it declares */
  NS_ERROR_SHAPE,            /* a tensor does not fit the architecture */
  NS_ERROR_TOO_LARGE,        /* a size overflows or exceeds the 2 GiB limit */
  NS_ERROR_FORMAT,           /* any other malformed content */
  NS_ERROR_NO_MEMORY,        /* an allocation failed */
  NS_ERROR_CANCELLED,        /* the caller's cancel flag was raised */
  NS_ERROR_INVALID_ARGUMENT, /* a parameter out of range */
  NS_ERROR_NOT_FOUND,        /* no preset (or style row) of that name */
  NS_ERROR_NOT_FINITE        /* a weight is NaN or infinite */
} NsError;

GQuark ns_error_quark (void);

G_END_DECLS
