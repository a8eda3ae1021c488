/* FastLra C ABI: run a trained FastLra RNN from C, for example inside a control loop.
 *
 * Build: dotnet publish src/FastLra.Native -c Release -r linux-x64 -o out  ->  out/libfastlra.so
 * Link:  gcc your.c -I src/FastLra.Native -L out -lfastlra -Wl,-rpath,'$ORIGIN'
 *
 * Handles are opaque. No function throws or aborts on bad input: each returns an error code
 * (or NULL) and leaves a message for fastlra_last_error() on the calling thread. A state belongs
 * to one thread at a time; any number of states may share one model. fastlra_step allocates
 * nothing and takes no lock.
 *
 * A handle carries its slot's generation, so a freed handle, a second free, a handle of the wrong
 * kind or a garbage value is refused (FASTLRA_INVALID_ARGUMENT, NULL, or for the free functions no
 * effect), never taken for another live object. Freeing a handle while another thread uses it is
 * still a race the caller must avoid. At most 2^24 handles are live at once.
 */
#ifndef FASTLRA_H
#define FASTLRA_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fastlra_model fastlra_model;
typedef struct fastlra_state fastlra_state;

enum {
    FASTLRA_OK = 0,
    FASTLRA_INVALID_ARGUMENT = -1, /* NULL or wrong handle, NULL buffer */
    FASTLRA_INTERNAL_ERROR = -2    /* an unexpected failure; the message says what */
};

/* Loads a safetensors weight file (Wxh I x H, Whh H x H, bh H, Why H x O, by O, float32), with
   the normalisation of the data it was trained on when it has one (input_mean, input_std, and
   for regression target_mean, target_std): fastlra_step then takes x and gives y in original
   units. NULL on failure. */
fastlra_model *fastlra_model_load(const char *path);

/* The widths of a model: inputs I, hidden H, outputs O (any pointer may be NULL). */
int fastlra_model_shape(const fastlra_model *model, int *inputs, int *hidden, int *outputs);

/* A hidden state (zero) for one stream of the model. NULL on failure. */
fastlra_state *fastlra_state_create(const fastlra_model *model);

/* One step: x holds I floats; y receives O floats. h = tanh(h Whh + x Wxh + bh), y = h Why + by
   (with a normalisation: x standardised first, y scaled back after). */
int fastlra_step(fastlra_state *state, const float *x, float *y);

/* Sets the hidden state back to zero. */
int fastlra_state_reset(fastlra_state *state);

/* Frees a state. NULL does nothing; a freed or foreign handle does nothing but leave a message. */
void fastlra_state_free(fastlra_state *state);

/* Frees a model handle; states created from it stay valid until they are freed. */
void fastlra_model_free(fastlra_model *model);

/* ---- Learning on the device (docs/online.md) ----
   A learner predicts each tick with its current weights, then learns from the tick's target:
   every update-every ticks, one optimiser step on the last `window` ticks (BPTT or LRA, local
   semantics), inline in the tick that is due, or on a trainer thread of its own (mode=background:
   a tick then never blocks, waits or allocates). Options are space-separated name=value pairs,
   NULL or "" for the defaults: algo (bptt|lra), optimizer (sgd|nesterov|rmsprop|adam|adagrad), lr,
   clip, k, beta, alpha, local-loss, clip-mode, seed, window (16), update-every (1), mode
   (inline|background), e.g. "algo=lra k=3 beta=1 lr=0.05 window=16 mode=background". */
typedef struct fastlra_learner fastlra_learner;

/* A learner of fresh (orthogonal, seeded) weights of I inputs, H hidden units, O outputs. NULL on failure. */
fastlra_learner *fastlra_learner_create(int inputs, int hidden, int outputs, const char *options);

/* A learner starting from a model file (its widths and normalisation: x and targets in original
   units), or resuming a file fastlra_learner_save wrote (then only mode may be given). NULL on failure. */
fastlra_learner *fastlra_learner_open(const char *path, const char *options);

/* One tick: x holds I floats; target O floats, or NULL to predict only; prediction receives O
   floats, made by the weights before this tick's learning. No allocation. */
int fastlra_learner_step(fastlra_learner *learner, const float *x, const float *target, float *prediction);

/* Ticks, updates, updates skipped by a busy trainer, and the recent RMSE (any pointer may be NULL). */
int fastlra_learner_stats(const fastlra_learner *learner, long long *ticks, long long *updates, long long *skipped, double *recent_rmse);

/* Writes the learner's whole state atomically: a model file too (fastlra_model_load reads its weights).
   Call it between ticks, from the thread that steps. */
int fastlra_learner_save(fastlra_learner *learner, const char *path);

/* Stops the trainer thread, if any, and frees the learner. NULL does nothing. */
void fastlra_learner_free(fastlra_learner *learner);

/* The calling thread's last error message (UTF-8), or NULL if none; valid until its next failing call. */
const char *fastlra_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
