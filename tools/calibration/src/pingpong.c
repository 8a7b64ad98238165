/* lat_ctx-style 2-process token ring over pipes (lmbench lat_ctx -s 0 2 equivalent:
 * 0 KB working set). usage: pingpong N   -> N round trips (each = 2 one-byte transfers) */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <time.h>
int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000, i;
    int a[2], b[2];
    char c = 0;
    struct timespec t0, t1;
    if (pipe(a) || pipe(b)) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {                    /* child: echo the token back */
        for (i = 0; i < n; i++) {
            if (read(a[0], &c, 1) != 1) _exit(1);
            if (write(b[1], &c, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        if (write(a[1], &c, 1) != 1) return 1;
        if (read(b[0], &c, 1) != 1) return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    waitpid(pid, 0, 0);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3;
    printf("round_trips=%ld total_us=%.0f us_per_round_trip=%.3f\n", n, us, us / n);
    return 0;
}
