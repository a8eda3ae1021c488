/* A control loop on libfastlra.so that learns while it runs: each tick the model predicts the
 * pendulum's next angle from the torque and the measured angle, and a background learner adapts
 * it as the plant drifts (docs/online.md). On a device the inputs come from sensors; here they
 * come from the recorded series.   Usage: control_loop MODEL.safetensors SERIES.csv */
#include "fastlra.h"

#include <math.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MODEL.safetensors SERIES.csv\n", argv[0]); return 2; }
    fastlra_learner *learner = fastlra_learner_open(argv[1], "algo=bptt lr=0.05 window=16 mode=background");
    if (!learner) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }
    FILE *csv = fopen(argv[2], "r");
    if (!csv) { fprintf(stderr, "cannot open %s\n", argv[2]); return 1; }
    char header[256];
    if (!fgets(header, sizeof header, csv)) { fprintf(stderr, "%s is empty\n", argv[2]); return 1; }
    /* Tick t: x = (u_t, theta_t), predicting theta_{t+1}; the measurement of theta_{t+1} is the
       target, known one tick later, so each tick steps with the previous tick's inputs. */
    float x[2], next[2], prediction[1];
    double squares = 0;
    long ticks = 0;
    if (fscanf(csv, "%f,%f", &x[0], &x[1]) != 2) { fprintf(stderr, "no rows\n"); return 1; }
    while (fscanf(csv, "%f,%f", &next[0], &next[1]) == 2) {
        float target[1] = { next[1] };
        if (fastlra_learner_step(learner, x, target, prediction) != FASTLRA_OK) { fprintf(stderr, "%s\n", fastlra_last_error()); return 1; }
        squares += (double)(prediction[0] - target[0]) * (prediction[0] - target[0]);
        ticks++;
        x[0] = next[0];
        x[1] = next[1];
    }
    fclose(csv);
    long long updates = 0, skipped = 0;
    fastlra_learner_stats(learner, NULL, &updates, &skipped, NULL);
    printf("control loop: %ld ticks, %lld updates (%lld skipped), one-step RMSE %.5f rad\n", ticks, updates, skipped, sqrt(squares / (double)ticks));
    fastlra_learner_free(learner);
    return 0;
}
