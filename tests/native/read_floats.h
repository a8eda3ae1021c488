/* The test programs' one helper: a whole file of float32 values, and their count. */
#ifndef READ_FLOATS_H
#define READ_FLOATS_H

#include <stdio.h>
#include <stdlib.h>

static float *read_floats(const char *path, long *count) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *data = malloc((size_t)bytes);
    if (!data || fread(data, 1, (size_t)bytes, f) != (size_t)bytes) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
    fclose(f);
    *count = bytes / (long)sizeof(float);
    return data;
}

#endif
