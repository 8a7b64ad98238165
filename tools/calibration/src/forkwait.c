/* forkwait: Adams & Agesen (ASPLOS 2006) fork/wait microbenchmark.
 * Default build is the benchmark verbatim (N = 40000, child returns from main).
 * Variants (compile-time, so the loop body is otherwise identical):
 *   -DN=k        iteration count (for cachegrind differencing)
 *   -DPAUSE      parent raises SIGSTOP right before the loop (to read /proc/PID/smaps)
 *   -DRU         parent uses wait4() to collect each child's rusage (glibc waitpid() is
 *                wait4(pid,st,opt,NULL) anyway) and reports sums + its own RUSAGE_SELF delta
 *   -DCHILD_EXIT child calls _exit(0) instead of return 0 (skips atexit/stdio handlers)
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef PAUSE
#include <signal.h>
#endif
#ifdef RU
#include <stdio.h>
#include <sys/resource.h>
#endif
#ifndef N
#define N 40000
#endif

int main(void)
{
    int i;
    pid_t pid;
#ifdef RU
    struct rusage r0, r1, rc;
    long c_min = 0, c_maj = 0, c_nvcsw = 0, c_nivcsw = 0;
    getrusage(RUSAGE_SELF, &r0);
#endif
#ifdef PAUSE
    kill(getpid(), SIGSTOP);
#endif
    for (i = 0; i < N; i++) {
        pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
#ifdef CHILD_EXIT
            _exit(0);
#else
            return 0;
#endif
        }
#ifdef RU
        wait4(pid, 0, 0, &rc);
        c_min += rc.ru_minflt; c_maj += rc.ru_majflt;
        c_nvcsw += rc.ru_nvcsw; c_nivcsw += rc.ru_nivcsw;
#else
        waitpid(pid, 0, 0);
#endif
    }
#ifdef RU
    getrusage(RUSAGE_SELF, &r1);
    printf("iterations=%d\n", N);
    printf("parent_minflt_loop=%ld per_iter=%.3f\n", r1.ru_minflt - r0.ru_minflt,
           (double)(r1.ru_minflt - r0.ru_minflt) / N);
    printf("parent_majflt_loop=%ld\n", r1.ru_majflt - r0.ru_majflt);
    printf("parent_nvcsw_loop=%ld per_iter=%.3f parent_nivcsw_loop=%ld per_iter=%.3f\n",
           r1.ru_nvcsw - r0.ru_nvcsw, (double)(r1.ru_nvcsw - r0.ru_nvcsw) / N,
           r1.ru_nivcsw - r0.ru_nivcsw, (double)(r1.ru_nivcsw - r0.ru_nivcsw) / N);
    printf("child_minflt_sum=%ld per_child=%.3f child_majflt_sum=%ld\n", c_min,
           (double)c_min / N, c_maj);
    printf("child_nvcsw_sum=%ld per_child=%.3f child_nivcsw_sum=%ld per_child=%.3f\n",
           c_nvcsw, (double)c_nvcsw / N, c_nivcsw, (double)c_nivcsw / N);
#endif
    return 0;
}
