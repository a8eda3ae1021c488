/* FastLra C ABI: run a trained FastLra RNN from C, for example inside a control loop.
 *
 * Build: dotnet publish src/FastLra.Native -c Release -r linux-x64 -o out  ->  out/libfastlra.so
 * Link:  gcc your.c -I src/FastLra.Native -L out -lfastlra -Wl,-rpath,'$ORIGIN'
 *
 * Handles are opaque. No function throws or aborts on bad input: each returns an error code
 * (or NULL) and leaves a message for fastlra_last_error() on the calling thread. A state belongs
 * to one thread at a time; any number of states may share one model. fastlra_step allocates
 * nothing and takes no lock, failing or not.
 *
 * Buffers: fastlra_step and fastlra_learner_step take no lengths and trust x, y, target and
 * prediction to hold the model's I and O floats; a shorter buffer is read or written past its end
 * (undefined behaviour, a crash at best). Prefer fastlra_step_n and fastlra_learner_step_n, which
 * take each buffer's length in floats and refuse a wrong one with FASTLRA_INVALID_ARGUMENT.
 *
 * Numbers that are not finite: a NaN or an infinity in an input (or an input so large that the
 * state or output would overflow) is refused with FASTLRA_NONFINITE_INPUT, leaving the state as it
 * was and the output holding the last one (sample and hold); a model, checkpoint or learner file
 * holding one is refused when loaded. A state or a learner therefore never holds one.
 *
 * A handle carries its slot's generation, so a freed handle, a second free, a handle of the wrong
 * kind or a garbage value is refused (FASTLRA_INVALID_ARGUMENT, NULL, or for the free functions no
 * effect), never taken for another live object. Freeing a handle while another thread uses it is
 * still a race the caller must avoid. At most 2^24 handles are live at once.
 */
#ifndef FASTLRA_H
#define FASTLRA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fastlra_model fastlra_model;
typedef struct fastlra_state fastlra_state;

enum {
    FASTLRA_OK = 0,
    FASTLRA_INVALID_ARGUMENT = -1, /* NULL or wrong handle, NULL buffer, a buffer length that is not the model's */
    FASTLRA_INTERNAL_ERROR = -2,   /* an unexpected failure; the message says what */
    FASTLRA_NONFINITE_INPUT = -3,  /* the input holds a NaN or an infinity (or leads to a state or output that
                                      would): nothing changed, the output holds the last one (zeros before the first) */
    FASTLRA_DIVERGED = -4          /* a learner's updates were all rejected for 3 windows: it predicted, with its
                                      last good weights (finite), but is not learning; see fastlra_learner_stats2 */
};

/* Loads a safetensors weight file (Wxh I x H, Whh H x H, bh H, Why H x O, by O, float32), with
   the normalisation of the data it was trained on when it has one (input_mean, input_std, and
   for regression target_mean, target_std): fastlra_step then takes x and gives y in original
   units. NULL on failure, with the file and the problem named (a tensor holding a NaN or an
   infinity, a standard deviation that is not positive, ...). */
fastlra_model *fastlra_model_load(const char *path);

/* The widths of a model: inputs I, hidden H, outputs O (any pointer may be NULL). */
int fastlra_model_shape(const fastlra_model *model, int *inputs, int *hidden, int *outputs);

/* A hidden state (zero) for one stream of the model. NULL on failure. */
fastlra_state *fastlra_state_create(const fastlra_model *model);

/* One step: x holds I floats; y receives O floats. h = tanh(h Whh + x Wxh + bh), y = h Why + by
   (with a normalisation: x standardised first, y scaled back after). A non-finite x returns
   FASTLRA_NONFINITE_INPUT: the state is unchanged and y receives the state's last output. */
int fastlra_step(fastlra_state *state, const float *x, float *y);

/* fastlra_step with lengths (in floats): x_len must be I and y_len O, else FASTLRA_INVALID_ARGUMENT
   and nothing is read or written. Use this one. */
int fastlra_step_n(fastlra_state *state, const float *x, size_t x_len, float *y, size_t y_len);

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
   NULL or "" for the defaults, e.g. "algo=lra k=3 beta=1 lr=0.05 window=16 mode=background";
   `fastlra replay --help` says what each means. The options, with their defaults:
   options:
     cell=tanh|gru|lstm                                 (tanh)
     layers=int                                         (1)
     seed=int                                           (1234)
     algo=bptt|lra                                      (bptt)
     optimizer=sgd|nesterov|rmsprop|adam|adagrad        (sgd)
     lr=float                                           (0.01)
     clip=float                                         (1)
     k=int                                              (10)
     beta=float                                         (10)
     alpha=float                                        (0)
     local-loss=log-penalty|mse                         (log-penalty)
     clip-mode=above|always                             (above)
     deterministic=true|false                           (true)
     omega-guard=float                                  (0)
     window=int                                         (16)
     update-every=int                                   (1)
     mode=inline|background                             (inline)
   /options */
typedef struct fastlra_learner fastlra_learner;

/* A learner of fresh (orthogonal, seeded) weights of I inputs, H hidden units, O outputs. NULL on failure. */
fastlra_learner *fastlra_learner_create(int inputs, int hidden, int outputs, const char *options);

/* A learner starting from a model file (its widths and normalisation: x and targets in original
   units), or resuming a file fastlra_learner_save wrote (then only mode may be given). NULL on
   failure, with the file and the tensor or key named: a file holding a NaN or an infinity, a count
   out of range, or a learner's state without the exact format tag (a damaged learner file is never
   opened as a plain model). */
fastlra_learner *fastlra_learner_open(const char *path, const char *options);

/* One tick: x holds I floats; target O floats, or NULL to predict only; prediction receives O
   floats, made by the weights before this tick's learning. No allocation, whatever it returns.
   Nothing that is not finite is learnt from or kept:
   - a NaN or infinite x returns FASTLRA_NONFINITE_INPUT: no prediction (prediction holds the last
     one, zeros before the first), the state unchanged, nothing learnt; counted in rejected_ticks;
   - a NaN or infinite target is not learnt from nor scored (counted in rejected_ticks); the tick
     predicts and returns FASTLRA_OK; the window starts again after it (no update trains across it);
   - an update whose loss, gradient, weights or optimiser state would not be finite is rolled back
     (counted in rejected_updates); learning goes on with the next window;
   - when every update for 3 windows (3 ceil(window / update-every) updates in a row) was rejected,
     each tick returns FASTLRA_DIVERGED, still predicting with the last good weights, until an
     update is kept again. */
int fastlra_learner_step(fastlra_learner *learner, const float *x, const float *target, float *prediction);

/* fastlra_learner_step with lengths (in floats): x_len must be I, prediction_len O, and target_len
   O, or 0 to predict only (target may then be NULL); else FASTLRA_INVALID_ARGUMENT and nothing is
   read or written. Use this one. */
int fastlra_learner_step_n(fastlra_learner *learner, const float *x, size_t x_len, const float *target, size_t target_len,
                           float *prediction, size_t prediction_len);

/* Ticks, updates, updates skipped by a busy trainer, and the recent RMSE (any pointer may be NULL).
   Kept as it is; fastlra_learner_stats2 has every counter. */
int fastlra_learner_stats(const fastlra_learner *learner, long long *ticks, long long *updates, long long *skipped, double *recent_rmse);

/* Every counter of a learner. Set size to sizeof(fastlra_learner_counters) before the call: the
   library writes only the first `size` bytes, and later versions only append fields, so a program
   built against this header keeps working with a newer library. */
typedef struct fastlra_learner_counters {
    size_t size;                /* in: sizeof(fastlra_learner_counters) */
    long long ticks;            /* every tick, rejected ones included */
    long long updates;          /* updates kept (optimiser steps) */
    long long skipped_updates;  /* background: due updates a busy trainer skipped */
    long long dropped_ticks;    /* background: ticks the full queue could not take (predicted, not learnt from) */
    long long rejected_ticks;   /* ticks whose input or target was not finite */
    long long rejected_updates; /* updates rolled back because they were not finite */
    double rmse;                /* over every scored tick (original units; NaN before one) */
    double recent_rmse;         /* weighted towards recent ticks */
    double last_update_loss;    /* the last kept update's loss on its window (NaN before the first) */
    int diverged;               /* 1 while the learner reports FASTLRA_DIVERGED, else 0 */
} fastlra_learner_counters;

int fastlra_learner_stats2(const fastlra_learner *learner, fastlra_learner_counters *counters);

/* Writes the learner's whole state atomically: a model file too (fastlra_model_load reads its weights).
   Call it between ticks, from the thread that steps. */
int fastlra_learner_save(fastlra_learner *learner, const char *path);

/* Stops the trainer thread, if any, and frees the learner. NULL does nothing. */
void fastlra_learner_free(fastlra_learner *learner);

/* The calling thread's last error message (UTF-8, at most 4096 characters: a long text it quotes,
   such as an options string, is cut), or NULL if none; valid until its next failing call. */
const char *fastlra_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
