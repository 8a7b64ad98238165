/* allocator churn: repeatedly mmap an anonymous private region of 1..64 pages
 * (fixed-seed LCG), write one byte in every page once, munmap it.
 * usage: churn ITERATIONS  -> prints pages touched */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 100000, it, pages = 0;
    unsigned long long x = 42;                      /* fixed seed */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (it = 0; it < iters; it++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        long np = 1 + (long)((x >> 33) % 64);
        size_t len = (size_t)np * 4096;
        volatile char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        for (long i = 0; i < np; i++) p[i * 4096] = 1;
        munmap((void *)p, len);
        pages += np;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("iterations=%ld pages_touched=%ld mean_pages=%.3f seconds=%.3f\n", iters, pages, (double)pages / iters, s);
    return 0;
}
