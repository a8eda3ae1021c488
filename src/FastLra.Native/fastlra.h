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

/* The calling thread's last error message (UTF-8), or NULL if none; valid until its next failing call. */
const char *fastlra_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
