/* Checks libfastlra.so against the managed implementation.
 *   fastlra_test MODEL write-inputs INPUTS T      writes T steps of deterministic inputs (float32)
 *   fastlra_test MODEL check INPUTS EXPECTED      steps them through the C ABI and compares every
 *                                                 output with EXPECTED (from `fastlra infer`)
 *   fastlra_test MODEL learn TICKS.csv SAVED       drives a learner from MODEL (see learn())
 * It also checks the error paths (failures return codes or NULL with a message, never abort) and
 * the handles (stale, double-freed, foreign and garbage ones are refused, live ones never shared). */
#include "fastlra.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_floats.h"

static int check_error_paths(void) {
    int failures = 0;
    if (fastlra_model_load("/nonexistent/model.safetensors") != NULL || fastlra_last_error() == NULL) {
        fprintf(stderr, "loading a missing file did not fail with a message\n");
        failures++;
    }
    if (fastlra_model_load(NULL) != NULL) { fprintf(stderr, "loading NULL did not fail\n"); failures++; }
    if (fastlra_state_create(NULL) != NULL) { fprintf(stderr, "a state of NULL did not fail\n"); failures++; }
    float x[1] = {0}, y[1] = {0};
    if (fastlra_step(NULL, x, y) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a step of NULL did not fail\n"); failures++; }
    if (fastlra_state_reset(NULL) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a reset of NULL did not fail\n"); failures++; }
    fastlra_state_free(NULL);
    fastlra_model_free(NULL);
    return failures;
}

/* Stale, double-freed, foreign and garbage handles are refused and never alias a live object. */
static int check_handles(fastlra_model *model, int inputs, int outputs) {
    enum { Freed = 1000, Live = 2000 };
    int failures = 0;
    float *x = calloc((size_t)inputs, sizeof(float)), *y = calloc((size_t)outputs, sizeof(float));
    fastlra_state **freed = malloc(sizeof *freed * Freed), **live = malloc(sizeof *live * Live);
    for (int i = 0; i < Freed; i++) {
        freed[i] = fastlra_state_create(model);
        fastlra_state_free(freed[i]);
        fastlra_state_free(freed[i]); /* a double free: must change nothing */
    }
    for (int i = 0; i < Live; i++) live[i] = fastlra_state_create(model);
    for (int i = 0; i < Live; i++)
        for (int j = 0; j < i; j++)
            if (live[i] == live[j] || live[i] == NULL) { fprintf(stderr, "states %d and %d share a handle\n", i, j); failures++; i = Live; break; }
    for (int i = 0; i < Freed; i++)
        if (fastlra_step(freed[i], x, y) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a freed handle stepped\n"); failures++; break; }
    if (fastlra_step((fastlra_state *)model, x, y) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a model handle stepped as a state\n"); failures++; }
    if (fastlra_state_create((fastlra_model *)live[0]) != NULL) { fprintf(stderr, "a state handle made a state\n"); failures++; }
    fastlra_model_free((fastlra_model *)live[0]); /* the wrong kind: must not free the state */
    if (fastlra_step(live[0], x, y) != FASTLRA_OK) { fprintf(stderr, "a state was freed as a model\n"); failures++; }
    unsigned long long bits = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 10000; i++) {
        bits ^= bits << 13; bits ^= bits >> 7; bits ^= bits << 17;
        fastlra_state *garbage = (fastlra_state *)(size_t)bits;
        int known = 0;
        for (int j = 0; j < Live && !known; j++) known = garbage == live[j];
        if (!known && fastlra_step(garbage, x, y) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a garbage handle stepped\n"); failures++; break; }
        if (!known) fastlra_state_free(garbage);
    }
    /* Each live state holds its own stream: stepping one leaves another's output unchanged. */
    for (int i = 0; i < inputs; i++) x[i] = 1.0f;
    float *first = calloc((size_t)outputs, sizeof(float));
    fastlra_state_reset(live[1]);
    fastlra_step(live[1], x, first);
    for (int k = 0; k < 5; k++) fastlra_step(live[2], x, y);
    fastlra_state_reset(live[1]);
    fastlra_step(live[1], x, y);
    if (memcmp(first, y, sizeof(float) * (size_t)outputs) != 0) { fprintf(stderr, "two states share a hidden state\n"); failures++; }
    for (int i = 0; i < Live; i++) fastlra_state_free(live[i]);
    free(first); free(freed); free(live); free(x); free(y);
    return failures;
}

/* Drives a learner from the model over 300 deterministic ticks (writing them as CSV for `fastlra
   replay` to repeat), saves it, and checks the learner's error paths and a background learner. */
static int learn(const char *model_path, const char *ticks_path, const char *saved_path, int inputs, int outputs) {
    int failures = 0;
    if (fastlra_learner_open(model_path, "algo=lra k=x") != NULL || fastlra_last_error() == NULL) { fprintf(stderr, "a bad option made a learner\n"); failures++; }
    if (fastlra_learner_open(model_path, "window=0") != NULL) { fprintf(stderr, "a window of 0 made a learner\n"); failures++; }
    if (fastlra_learner_open(model_path, "algo=lra semantics=reference") != NULL) { fprintf(stderr, "the reference semantics made a learner\n"); failures++; }
    if (fastlra_learner_open(NULL, NULL) != NULL) { fprintf(stderr, "a NULL path made a learner\n"); failures++; }
    fastlra_learner *learner = fastlra_learner_open(model_path, "algo=lra k=3 beta=1 lr=0.05 window=8 update-every=2");
    if (!learner) { fprintf(stderr, "%s\n", fastlra_last_error()); return failures + 1; }
    FILE *csv = fopen(ticks_path, "w");
    if (!csv) { fprintf(stderr, "cannot write %s\n", ticks_path); return failures + 1; }
    for (int i = 0; i < inputs; i++) fprintf(csv, "i%d,", i);
    for (int j = 0; j < outputs; j++) fprintf(csv, "t%d%s", j, j + 1 < outputs ? "," : "\n");
    float *x = malloc(sizeof(float) * (size_t)inputs), *target = malloc(sizeof(float) * (size_t)outputs), *prediction = malloc(sizeof(float) * (size_t)outputs);
    for (int t = 0; t < 300; t++) {
        for (int i = 0; i < inputs; i++) { x[i] = 60.0f + 50.0f * sinf(0.19f * (float)t + (float)i); fprintf(csv, "%.9g,", (double)x[i]); }
        for (int j = 0; j < outputs; j++) { target[j] = 55.0f + 40.0f * cosf(0.13f * (float)t + (float)j); fprintf(csv, "%.9g%s", (double)target[j], j + 1 < outputs ? "," : "\n"); }
        if (fastlra_learner_step(learner, x, target, prediction) != FASTLRA_OK) { fprintf(stderr, "%s\n", fastlra_last_error()); failures++; break; }
    }
    fclose(csv);
    long long ticks = 0, updates = 0;
    fastlra_learner_stats(learner, &ticks, &updates, NULL, NULL);
    if (ticks != 300 || updates != 147) { fprintf(stderr, "expected 300 ticks and 147 updates, got %lld and %lld\n", ticks, updates); failures++; }
    if (fastlra_learner_save(learner, saved_path) != FASTLRA_OK) { fprintf(stderr, "%s\n", fastlra_last_error()); failures++; }
    fastlra_learner_free(learner);
    fastlra_learner_free(learner); /* a double free: must change nothing */
    if (fastlra_learner_step(learner, x, target, prediction) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a freed learner stepped\n"); failures++; }
    if (fastlra_learner_step(NULL, x, NULL, prediction) != FASTLRA_INVALID_ARGUMENT) { fprintf(stderr, "a NULL learner stepped\n"); failures++; }

    /* The saved learner resumes (in the background), and a fresh background learner learns. */
    fastlra_learner *resumed = fastlra_learner_open(saved_path, "mode=background");
    if (!resumed) { fprintf(stderr, "resuming: %s\n", fastlra_last_error()); failures++; }
    else {
        fastlra_learner_stats(resumed, &ticks, NULL, NULL, NULL);
        if (ticks != 300) { fprintf(stderr, "the resumed learner has %lld ticks\n", ticks); failures++; }
        fastlra_learner_free(resumed);
    }
    fastlra_learner *background = fastlra_learner_create(inputs, 8, outputs, "window=4 mode=background");
    if (!background) { fprintf(stderr, "%s\n", fastlra_last_error()); failures++; }
    else {
        for (int t = 0; t < 20000 && updates < 5; t++) {
            for (int i = 0; i < inputs; i++) x[i] = sinf(0.1f * (float)t + (float)i);
            for (int j = 0; j < outputs; j++) target[j] = 0.5f * cosf(0.1f * (float)t);
            fastlra_learner_step(background, x, target, prediction);
            for (volatile int spin = 0; spin < 20000; spin++) { }
            fastlra_learner_stats(background, NULL, &updates, NULL, NULL);
        }
        if (updates < 5) { fprintf(stderr, "the background learner made %lld updates\n", updates); failures++; }
        fastlra_learner_free(background);
    }
    /* A gated, stacked learner of fresh weights learns through the same calls; a model file sets its
       own network, so cell= and layers= are refused beside one. */
    fastlra_learner *gated = fastlra_learner_create(inputs, 8, outputs, "cell=gru layers=2 window=4 lr=0.05");
    if (!gated) { fprintf(stderr, "a GRU learner: %s\n", fastlra_last_error()); failures++; }
    else {
        for (int t = 0; t < 100; t++) {
            for (int i = 0; i < inputs; i++) x[i] = sinf(0.1f * (float)t + (float)i);
            for (int j = 0; j < outputs; j++) target[j] = 0.5f * cosf(0.1f * (float)t);
            if (fastlra_learner_step(gated, x, target, prediction) != FASTLRA_OK || !isfinite(prediction[0])) {
                fprintf(stderr, "the GRU learner failed at tick %d: %s\n", t, fastlra_last_error()); failures++; break;
            }
        }
        fastlra_learner_stats(gated, &ticks, &updates, NULL, NULL);
        if (ticks != 100 || updates != 97) { fprintf(stderr, "the GRU learner: expected 100 ticks and 97 updates, got %lld and %lld\n", ticks, updates); failures++; }
        fastlra_learner_free(gated);
    }
    if (fastlra_learner_open(model_path, "cell=lstm") != NULL || strstr(fastlra_last_error(), "the model file sets the network") == NULL) {
        fprintf(stderr, "cell= beside a model file made a learner\n"); failures++;
    }
    free(x); free(target); free(prediction);
    printf("C ABI learner: 300 ticks, 147 updates, saved %s; a GRU of two layers: 100 ticks, 97 updates; %s\n", saved_path, failures == 0 ? "ok" : "FAILED");
    return failures;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL write-inputs INPUTS T | MODEL check INPUTS EXPECTED\n", argv[0]);
        return 2;
    }
    fastlra_model *model = fastlra_model_load(argv[1]);
    if (!model) { fprintf(stderr, "load failed: %s\n", fastlra_last_error()); return 1; }
    int inputs = 0, hidden = 0, outputs = 0;
    if (fastlra_model_shape(model, &inputs, &hidden, &outputs) != FASTLRA_OK) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }

    if (strcmp(argv[2], "learn") == 0) {
        if (argc < 5) { fprintf(stderr, "usage: %s MODEL learn TICKS.csv SAVED.safetensors\n", argv[0]); return 2; }
        int failures = learn(argv[1], argv[3], argv[4], inputs, outputs);
        fastlra_model_free(model);
        return failures == 0 ? 0 : 1;
    }
    if (strcmp(argv[2], "write-inputs") == 0) {
        int steps = atoi(argv[4]);
        FILE *f = fopen(argv[3], "wb");
        if (!f) { fprintf(stderr, "cannot write %s\n", argv[3]); return 1; }
        for (int t = 0; t < steps; t++)
            for (int i = 0; i < inputs; i++) {
                float v = sinf(0.37f * (float)t + 1.3f * (float)i);
                fwrite(&v, sizeof v, 1, f);
            }
        fclose(f);
        fastlra_model_free(model);
        return 0;
    }

    long n_in = 0, n_out = 0;
    float *x = read_floats(argv[3], &n_in);
    float *expected = read_floats(argv[4], &n_out);
    long steps = n_in / inputs;
    if (steps * outputs != n_out) { fprintf(stderr, "expected %ld outputs, found %ld\n", steps * outputs, n_out); return 1; }
    fastlra_state *state = fastlra_state_create(model);
    if (!state) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }
    float *y = malloc(sizeof(float) * (size_t)outputs);
    double worst = 0;
    for (int pass = 0; pass < 2; pass++) { /* twice: the second after a reset must repeat the first */
        for (long t = 0; t < steps; t++) {
            if (fastlra_step(state, x + t * inputs, y) != FASTLRA_OK) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }
            for (int j = 0; j < outputs; j++) {
                double diff = fabs((double)y[j] - (double)expected[t * outputs + j]);
                if (diff > worst) worst = diff;
            }
        }
        fastlra_state_reset(state);
    }
    int failures = check_error_paths() + check_handles(model, inputs, outputs);
    printf("C ABI: %ld steps of I=%d H=%d O=%d, largest difference from the managed implementation %g\n", steps, inputs, hidden, outputs, worst);
    fastlra_state_free(state);
    fastlra_model_free(model);
    free(x);
    free(expected);
    free(y);
    if (worst > 1e-6) { fprintf(stderr, "outputs differ from the managed implementation\n"); failures++; }
    printf("C ABI check: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
