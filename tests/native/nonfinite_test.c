/* Checks that numbers that are not finite never get into a state, a learner or a loaded file
 * through the C ABI, and the ABI's length-checked and versioned functions.
 *   nonfinite_test MODEL TICKS.csv SAVED
 * MODEL is a model with a normalisation (the sunspots one). The program
 * - steps a state with NaN and infinite inputs: FASTLRA_NONFINITE_INPUT, y holds the last output,
 *   the state is as if the bad step never came; fastlra_step_n refuses wrong lengths;
 * - drives an inline learner from MODEL over 2,000 ticks with NaN, +Inf and 3e38 at seeded random
 *   ticks in x and in the target (fastlra_learner_step and fastlra_learner_step_n in turn): every
 *   prediction is finite, FASTLRA_NONFINITE_INPUT comes exactly for the bad inputs, rejected_ticks
 *   counts exactly the bad ticks; writes the ticks to TICKS.csv (run.sh replays them with
 *   `fastlra replay` and compares the counters and the weights) and the learner to SAVED;
 *   prints the learner's counters as `fastlra replay --json` spells them;
 * - does the same with a background learner;
 * - checks fastlra_learner_stats2 writes only the size it is given, a diverged learner returns
 *   FASTLRA_DIVERGED with finite predictions, a learner file with one bit of its format tag flipped
 *   is refused (never opened as a plain model), a model file holding a NaN is refused naming the
 *   tensor, and a 10 MB options string is not echoed whole by fastlra_last_error. */
#include "fastlra.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(condition, ...) \
    do { if (!(condition)) { fprintf(stderr, "nonfinite_test: " __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

static unsigned long long rng_state = 0x2545F4914F6CDD1Dull;

static unsigned next_random(unsigned bound) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % bound);
}

static int finite_all(const float *values, int n) {
    for (int k = 0; k < n; k++) if (!isfinite(values[k])) return 0;
    return 1;
}

static void write_value(FILE *csv, float v) {
    if (isnan(v)) fputs("NaN", csv);
    else if (isinf(v)) fputs(v > 0 ? "Infinity" : "-Infinity", csv);
    else fprintf(csv, "%.9g", (double)v);
}

static unsigned char *read_file(const char *path, long *length) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *length = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)*length);
    if (bytes && fread(bytes, 1, (size_t)*length, f) != (size_t)*length) { free(bytes); bytes = NULL; }
    fclose(f);
    return bytes;
}

static int write_file(const char *path, const unsigned char *bytes, long length) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(bytes, 1, (size_t)length, f) == (size_t)length;
    return fclose(f) == 0 && ok;
}

/* A copy of a safetensors file with one bit flipped in the first occurrence of `text` in its header. */
static int flip_in_header(const char *from, const char *to, const char *text, int offset, int bit) {
    long length = 0;
    unsigned char *bytes = read_file(from, &length);
    if (!bytes) return 0;
    long header = 0;
    for (int i = 7; i >= 0; i--) header = header * 256 + bytes[i];
    size_t n = strlen(text);
    int done = 0;
    for (long i = 8; i + (long)n <= 8 + header && !done; i++)
        if (memcmp(bytes + i, text, n) == 0) { bytes[i + offset] ^= (unsigned char)(1u << bit); done = 1; }
    done = done && write_file(to, bytes, length);
    free(bytes);
    return done;
}

/* A copy of a safetensors file whose first stored float is NaN. */
static int poison_first_float(const char *from, const char *to) {
    long length = 0;
    unsigned char *bytes = read_file(from, &length);
    if (!bytes) return 0;
    long header = 0;
    for (int i = 7; i >= 0; i--) header = header * 256 + bytes[i];
    float nan = NAN;
    memcpy(bytes + 8 + header, &nan, sizeof nan);
    int ok = write_file(to, bytes, length);
    free(bytes);
    return ok;
}

static void check_state(fastlra_model *model, int inputs, int outputs) {
    fastlra_state *a = fastlra_state_create(model), *b = fastlra_state_create(model);
    float *x = calloc((size_t)inputs, sizeof(float)), *y = calloc((size_t)outputs, sizeof(float));
    float *held = calloc((size_t)outputs, sizeof(float)), *expected = calloc((size_t)outputs, sizeof(float));
    float bad[] = {NAN, INFINITY, -INFINITY};
    for (int t = 0; t < 50; t++) {
        for (int i = 0; i < inputs; i++) x[i] = 60.0f + 40.0f * sinf(0.3f * (float)t + (float)i);
        CHECK(fastlra_step(a, x, y) == FASTLRA_OK && fastlra_step(b, x, expected) == FASTLRA_OK, "a good step failed: %s", fastlra_last_error());
        CHECK(memcmp(y, expected, sizeof(float) * (size_t)outputs) == 0, "a state's output differs after refused steps");
        memcpy(held, y, sizeof(float) * (size_t)outputs);
        if (t % 3 == 0) {
            x[(size_t)t % (size_t)inputs] = bad[t % 3];
            int code = t % 2 ? fastlra_step(a, x, y) : fastlra_step_n(a, x, (size_t)inputs, y, (size_t)outputs);
            CHECK(code == FASTLRA_NONFINITE_INPUT, "a non-finite input returned %d", code);
            CHECK(fastlra_last_error() != NULL && strstr(fastlra_last_error(), "not finite") != NULL, "no message for a non-finite input");
            CHECK(memcmp(y, held, sizeof(float) * (size_t)outputs) == 0, "a refused step did not hold the last output");
        }
    }
    for (int j = 0; j < outputs; j++) y[j] = 42.0f;
    CHECK(fastlra_step_n(a, x, (size_t)inputs - 1, y, (size_t)outputs) == FASTLRA_INVALID_ARGUMENT, "a short x was not refused");
    CHECK(fastlra_step_n(a, x, (size_t)inputs, y, (size_t)outputs + 1) == FASTLRA_INVALID_ARGUMENT, "a long y was not refused");
    CHECK(y[0] == 42.0f, "a refused fastlra_step_n wrote y");
    CHECK(strstr(fastlra_last_error(), "x_len") != NULL, "the length message does not name x_len: %s", fastlra_last_error());
    fastlra_state_free(a);
    fastlra_state_free(b);
    free(x); free(y); free(held); free(expected);
}

/* 2,000 ticks with bad values at seeded random ticks; returns the number of ticks with a NaN or infinity. */
static long long run_learner(fastlra_learner *learner, int inputs, int outputs, FILE *csv, int paced) {
    float *x = malloc(sizeof(float) * (size_t)inputs), *target = malloc(sizeof(float) * (size_t)outputs);
    float *prediction = malloc(sizeof(float) * (size_t)outputs);
    float bad[] = {NAN, INFINITY, 3e38f};
    long long rejected = 0, nonfinite_returns = 0, expected_returns = 0;
    rng_state = 0x2545F4914F6CDD1Dull;
    for (int t = 0; t < 2000; t++) {
        for (int i = 0; i < inputs; i++) x[i] = 60.0f + 50.0f * sinf(0.19f * (float)t + (float)i);
        for (int j = 0; j < outputs; j++) target[j] = 55.0f + 40.0f * cosf(0.13f * (float)t + (float)j);
        if (next_random(10) == 0) {
            float value = bad[next_random(3)];
            if (next_random(2) == 0) x[next_random((unsigned)inputs)] = value;
            else target[next_random((unsigned)outputs)] = value;
        }
        int bad_input = !finite_all(x, inputs), bad_target = !finite_all(target, outputs);
        rejected += bad_input || bad_target;
        expected_returns += bad_input;
        int code = t % 2 ? fastlra_learner_step(learner, x, target, prediction)
                         : fastlra_learner_step_n(learner, x, (size_t)inputs, target, (size_t)outputs, prediction, (size_t)outputs);
        CHECK(code == FASTLRA_OK || code == FASTLRA_NONFINITE_INPUT, "tick %d returned %d: %s", t, code, fastlra_last_error());
        CHECK((code == FASTLRA_NONFINITE_INPUT) == bad_input, "tick %d returned %d for an input that is%s finite", t, code, bad_input ? " not" : "");
        nonfinite_returns += code == FASTLRA_NONFINITE_INPUT;
        CHECK(finite_all(prediction, outputs), "tick %d predicted a value that is not finite", t);
        if (csv) {
            for (int i = 0; i < inputs; i++) { write_value(csv, x[i]); fputc(',', csv); }
            for (int j = 0; j < outputs; j++) { write_value(csv, target[j]); fputc(j + 1 < outputs ? ',' : '\n', csv); }
        }
        if (paced) for (volatile int spin = 0; spin < 20000; spin++) { }
    }
    CHECK(nonfinite_returns == expected_returns, "%lld FASTLRA_NONFINITE_INPUT for %lld bad inputs", nonfinite_returns, expected_returns);
    free(x); free(target); free(prediction);
    return rejected;
}

static void check_counters_size(fastlra_learner *learner) {
    fastlra_learner_counters c;
    memset(&c, 0x7f, sizeof c);
    c.size = offsetof(fastlra_learner_counters, updates);
    CHECK(fastlra_learner_stats2(learner, &c) == FASTLRA_OK, "stats2 with a short size failed");
    CHECK(c.ticks > 0 && c.updates == 0x7f7f7f7f7f7f7f7fll && c.diverged == 0x7f7f7f7f, "stats2 wrote past the size it was given");
    c.size = 0;
    CHECK(fastlra_learner_stats2(learner, &c) == FASTLRA_INVALID_ARGUMENT, "stats2 with size 0 did not fail");
    CHECK(fastlra_learner_stats2(learner, NULL) == FASTLRA_INVALID_ARGUMENT, "stats2 with NULL did not fail");
    long long ticks = 0;
    CHECK(fastlra_learner_stats(learner, &ticks, NULL, NULL, NULL) == FASTLRA_OK && ticks == c.ticks, "fastlra_learner_stats disagrees");
}

static void check_diverged(void) {
    fastlra_learner *learner = fastlra_learner_create(1, 8, 1, "window=2 update-every=1");
    if (!learner) { CHECK(0, "%s", fastlra_last_error()); return; }
    float x[1], target[1] = {3e38f}, prediction[1];
    int diverged_at = -1;
    for (int t = 0; t < 20; t++) {
        x[0] = sinf((float)t);
        int code = fastlra_learner_step(learner, x, target, prediction);
        CHECK(code == FASTLRA_OK || code == FASTLRA_DIVERGED, "a 3e38 target returned %d", code);
        CHECK(isfinite(prediction[0]), "a diverged learner predicted a value that is not finite");
        if (code == FASTLRA_DIVERGED && diverged_at < 0) diverged_at = t;
    }
    /* Updates are due from the second tick: the sixth rejected in a row (3 windows of 2) is at tick 6. */
    CHECK(diverged_at == 6, "diverged at tick %d, expected 6", diverged_at);
    fastlra_learner_counters c = {.size = sizeof c};
    fastlra_learner_stats2(learner, &c);
    CHECK(c.diverged == 1 && c.updates == 0 && c.rejected_updates == 19 && c.rejected_ticks == 0,
          "diverged %d, %lld updates, %lld rejected updates, %lld rejected ticks", c.diverged, c.updates, c.rejected_updates, c.rejected_ticks);
    fastlra_learner_free(learner);
}

static void check_files(const char *model_path, const char *saved_path) {
    char flipped[4200], poisoned[4200];
    snprintf(flipped, sizeof flipped, "%s.flipped", saved_path);
    snprintf(poisoned, sizeof poisoned, "%s.poisoned", model_path);
    /* A bit flip in the tag's value, then in its key: the learner file is refused, not downgraded. */
    struct { const char *text; int offset; int bit; } flips[] = {{"fastlra-online-1", 15, 0}, {"\"format\"", 6, 0}, {"fastlra-online-1", 3, 5}};
    for (size_t k = 0; k < sizeof flips / sizeof flips[0]; k++) {
        CHECK(flip_in_header(saved_path, flipped, flips[k].text, flips[k].offset, flips[k].bit), "cannot write %s", flipped);
        fastlra_learner *downgraded = fastlra_learner_open(flipped, NULL);
        CHECK(downgraded == NULL, "a learner file with a damaged format tag opened (flip %zu)", k);
        CHECK(downgraded != NULL || (strstr(fastlra_last_error(), "metadata 'format'") && strstr(fastlra_last_error(), "not opened as a plain model")),
              "the message does not name the format tag: %s", fastlra_last_error());
        fastlra_learner_free(downgraded);
        fastlra_model *model = fastlra_model_load(flipped); /* its weights are still a model's */
        CHECK(model != NULL, "the damaged learner file's weights do not load as a model: %s", fastlra_last_error());
        fastlra_model_free(model);
    }
    CHECK(poison_first_float(model_path, poisoned), "cannot write %s", poisoned);
    CHECK(fastlra_model_load(poisoned) == NULL, "a model holding NaN loaded");
    CHECK(strstr(fastlra_last_error(), "holds NaN at index 0; every value must be finite") != NULL, "the message does not name the value: %s", fastlra_last_error());
    CHECK(fastlra_learner_open(poisoned, NULL) == NULL, "a learner started from a model holding NaN");
    CHECK(strstr(fastlra_last_error(), "holds NaN") != NULL, "no message for the learner: %s", fastlra_last_error());
    remove(flipped);
    remove(poisoned);
}

static void check_long_options(void) {
    size_t length = 10u << 20;
    char *options = malloc(length + 1);
    memset(options, 'z', length);
    memcpy(options + length - 2, "=1", 2);
    options[length] = 0;
    CHECK(fastlra_learner_create(2, 4, 1, options) == NULL, "a 10 MB option name made a learner");
    size_t echoed = fastlra_last_error() ? strlen(fastlra_last_error()) : 0;
    CHECK(echoed > 0 && echoed < 4200, "the message of a 10 MB options string is %zu bytes", echoed);
    CHECK(strstr(fastlra_last_error(), "characters") != NULL, "the message does not say the option was cut: %.200s", fastlra_last_error());
    free(options);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL TICKS.csv SAVED\n", argv[0]); return 2; }
    fastlra_model *model = fastlra_model_load(argv[1]);
    if (!model) { fprintf(stderr, "load failed: %s\n", fastlra_last_error()); return 1; }
    int inputs = 0, outputs = 0;
    fastlra_model_shape(model, &inputs, NULL, &outputs);
    check_state(model, inputs, outputs);
    fastlra_model_free(model);

    const char *options = "algo=bptt lr=0.01 clip=0 window=8 update-every=2";
    fastlra_learner *learner = fastlra_learner_open(argv[1], options);
    if (!learner) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }
    FILE *csv = fopen(argv[2], "w");
    if (!csv) { fprintf(stderr, "cannot write %s\n", argv[2]); return 1; }
    for (int i = 0; i < inputs; i++) fprintf(csv, "i%d,", i);
    for (int j = 0; j < outputs; j++) fprintf(csv, "t%d%s", j, j + 1 < outputs ? "," : "\n");
    long long rejected = run_learner(learner, inputs, outputs, csv, 0);
    fclose(csv);
    fastlra_learner_counters c = {.size = sizeof c};
    CHECK(fastlra_learner_stats2(learner, &c) == FASTLRA_OK, "%s", fastlra_last_error());
    CHECK(c.ticks == 2000 && c.rejected_ticks == rejected, "%lld ticks, %lld rejected; expected 2000 and %lld", c.ticks, c.rejected_ticks, rejected);
    CHECK(rejected > 100 && c.rejected_updates > 0 && c.updates > 500 && !c.diverged && isfinite(c.rmse),
          "%lld rejected ticks, %lld updates, %lld rejected updates, diverged %d, rmse %g", rejected, c.updates, c.rejected_updates, c.diverged, c.rmse);
    check_counters_size(learner);
    CHECK(fastlra_learner_save(learner, argv[3]) == FASTLRA_OK, "%s", fastlra_last_error());
    fastlra_learner_free(learner);
    /* As `fastlra replay --json` spells them, for run.sh to compare. */
    printf("\"updates\":%lld,\"skipped_updates\":0,\"dropped_ticks\":0,\"rejected_ticks\":%lld,\"rejected_updates\":%lld,\"diverged\":false\n",
           c.updates, c.rejected_ticks, c.rejected_updates);

    fastlra_model *saved = fastlra_model_load(argv[3]);
    CHECK(saved != NULL, "the saved learner does not load as a model: %s", fastlra_last_error());
    fastlra_model_free(saved);

    fastlra_learner *background = fastlra_learner_open(argv[1], "algo=bptt lr=0.01 clip=0 window=8 update-every=2 mode=background");
    if (!background) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }
    long long background_rejected = run_learner(background, inputs, outputs, NULL, 1);
    fastlra_learner_counters b = {.size = sizeof b};
    fastlra_learner_stats2(background, &b);
    CHECK(b.rejected_ticks == background_rejected && b.updates > 0, "background: %lld rejected of %lld, %lld updates", b.rejected_ticks, background_rejected, b.updates);
    fastlra_learner_free(background);

    check_diverged();
    check_files(argv[1], argv[3]);
    check_long_options();
    fprintf(stderr, "C ABI, numbers that are not finite: %lld bad ticks of 2000 rejected, %lld updates rolled back; %s\n", rejected, c.rejected_updates,
            failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
