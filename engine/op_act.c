/* Element-wise activations.  ReLU-type gradients read the input; tanh and
 * sigmoid read the output, whose derivative formulas need no exp(). */
#include "ns_ops.h"
#include <math.h>

void
ns_act_forward (float *out, const float *in, size_t len, NsAct act, float slope)
{
  switch (act)
    {
    case NS_ACT_RELU:
      for (size_t i = 0; i < len; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
      break;
    case NS_ACT_LEAKY_RELU:
      for (size_t i = 0; i < len; i++)
        out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
      break;
    case NS_ACT_TANH:
      for (size_t i = 0; i < len; i++)
        out[i] = tanhf (in[i]);
      break;
    case NS_ACT_SIGMOID:
      for (size_t i = 0; i < len; i++)
        {
          /* exp of a non-positive number only: no overflow for large |x| */
          float x = in[i];
          float e = expf (-fabsf (x));
          out[i] = x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        }
      break;
    }
}

void
ns_act_backward (float *din, const float *dout, const float *in,
                 const float *out, size_t len, NsAct act, float slope)
{
  if (!din)
    return;
  switch (act)
    {
    case NS_ACT_RELU:
      for (size_t i = 0; i < len; i++)
        if (in[i] > 0.0f)
          din[i] += dout[i];
      break;
    case NS_ACT_LEAKY_RELU:
      for (size_t i = 0; i < len; i++)
        din[i] += in[i] > 0.0f ? dout[i] : slope * dout[i];
      break;
    case NS_ACT_TANH:
      for (size_t i = 0; i < len; i++)
        din[i] += dout[i] * (1.0f - out[i] * out[i]);
      break;
    case NS_ACT_SIGMOID:
      for (size_t i = 0; i < len; i++)
        din[i] += dout[i] * out[i] * (1.0f - out[i]);
      break;
    }
}
