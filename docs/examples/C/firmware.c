/* Firmware use of an exported header: `fastlra export --format c --name pendulum` writes
 * pendulum.h (the weights, the normalisation, a state type and pendulum_step); this program needs
 * no library, no allocation and nothing from libm but tanhf. On a device x comes from the sensors
 * each tick; here the ticks come from the recorded series on stdin (u,theta rows after a header). */
#include "pendulum.h"

#include <math.h>
#include <stdio.h>

int main(void) {
    pendulum_state state;
    pendulum_reset(&state);
    char header[256];
    if (!fgets(header, sizeof header, stdin)) { fprintf(stderr, "no input\n"); return 1; }
    float x[PENDULUM_INPUTS], prediction[PENDULUM_OUTPUTS] = { 0 }, u, theta;
    double squares = 0;
    long ticks = 0;
    while (scanf("%f,%f", &u, &theta) == 2) {
        if (ticks > 0) squares += (double)(prediction[0] - theta) * (prediction[0] - theta);
        x[0] = u;
        x[1] = theta;
        pendulum_step(&state, x, prediction); /* the angle one tick ahead */
        ticks++;
    }
    printf("firmware: %ld ticks, one-step RMSE %.5f rad\n", ticks, sqrt(squares / (double)(ticks - 1)));
    return 0;
}
