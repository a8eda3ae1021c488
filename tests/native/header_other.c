/* The second translation unit of header_test: the header included again must compile and link. */
#include "model.h"

void other_step(model_state *state, const float *x, float *y);

void other_step(model_state *state, const float *x, float *y) { model_step(state, x, y); }
