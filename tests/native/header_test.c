/* Checks a header written by `fastlra export --format c --name model` against `fastlra infer`:
 *   header_test INPUTS.bin EXPECTED.bin
 * The header is included here and in header_other.c (two translation units, as firmware does). */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "read_floats.h"

/* From header_other.c: the same model stepped from another translation unit. */
void other_step(model_state *state, const float *x, float *y);

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s INPUTS.bin EXPECTED.bin\n", argv[0]); return 2; }
    long n_in = 0, n_out = 0;
    float *x = read_floats(argv[1], &n_in), *expected = read_floats(argv[2], &n_out);
    long steps = n_in / MODEL_INPUTS;
    if (steps * MODEL_OUTPUTS != n_out) { fprintf(stderr, "expected %ld outputs, found %ld\n", steps * MODEL_OUTPUTS, n_out); return 1; }
    model_state here, there;
    model_reset(&here);
    model_reset(&there);
    float y[MODEL_OUTPUTS], z[MODEL_OUTPUTS];
    double worst = 0;
    int differ = 0;
    for (long t = 0; t < steps; t++) {
        model_step(&here, x + t * MODEL_INPUTS, y);
        other_step(&there, x + t * MODEL_INPUTS, z);
        for (int o = 0; o < MODEL_OUTPUTS; o++) {
            double e = expected[t * MODEL_OUTPUTS + o];
            double diff = fabs((double)y[o] - e) / fmax(1.0, fabs(e));
            if (diff > worst) worst = diff;
            if (y[o] != z[o]) differ = 1;
        }
    }
    printf("C header: %ld steps of I=%d H=%d O=%d L=%d, largest relative difference from fastlra infer %g\n", steps, MODEL_INPUTS, MODEL_HIDDEN, MODEL_OUTPUTS,
           MODEL_LAYERS, worst);
    free(x);
    free(expected);
    if (differ) { fprintf(stderr, "the two translation units disagree\n"); return 1; }
    /* The header sums in scalar order, infer in vector blocks whose order follows the machine's width:
       a few float32 ulps apart, more after a normalisation's scale (9e-7 measured on the sunspots
       model at 256 bits); 4e-6, about 32 ulps, holds at every width and still catches a wrong tensor. */
    if (worst > 4e-6) { fprintf(stderr, "the header's outputs differ from fastlra infer by more than 4e-6\n"); return 1; }
    return 0;
}
