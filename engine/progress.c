#include "ns_progress.h"
#include "ns_error.h"

NsProgress
ns_progress_whole (NsProgressFunc func, gpointer data, const volatile gint *cancel)
{
  return (NsProgress) { func, data, 0.0, 1.0, cancel };
}

NsProgress
ns_progress_part (const NsProgress *pr, double from, double to)
{
  NsProgress part = *pr;
  part.from = pr->from + from * (pr->to - pr->from);
  part.to = pr->from + to * (pr->to - pr->from);
  return part;
}

gboolean
ns_progress_cancelled (const NsProgress *pr, GError **error)
{
  if (pr && pr->cancel && g_atomic_int_get (pr->cancel))
    {
      g_set_error (error, NS_ERROR, NS_ERROR_CANCELLED, "Stylization cancelled");
      return TRUE;
    }
  return FALSE;
}

gboolean
ns_progress_report (const NsProgress *pr, double fraction, const char *stage,
                    GError **error)
{
  if (pr->func)
    pr->func (pr->from + MIN (1.0, fraction) * (pr->to - pr->from), stage, pr->data);
  return !ns_progress_cancelled (pr, error);
}
