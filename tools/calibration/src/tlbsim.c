/* tlbsim: replay a valgrind lackey --trace-mem=yes trace through the same
 * set-associative LRU model that cachegrind 3.19 uses (cg_sim.c), with 4096-byte
 * "lines", i.e. a TLB model: I1 = L1 ITLB, D1 = L1 DTLB, LL = unified STLB that
 * sees I1 and D1 misses.  Straddling accesses touch both pages (one miss max),
 * modify (M) counts as one read (Dr), as cachegrind 3.19 does (checked).
 *
 * usage: tlbsim I1sets:ways D1sets:ways LLsets:ways [skipI] < trace
 *   (sets*ways = entries; e.g. Skylake 16:8 16:4 128:12, Nehalem 16:4 16:4 128:4)
 *   optional: --warm FILE N   feed the first N instructions of FILE (e.g. the parent's
 *   trace up to the fork) to warm the TLBs without counting, then count stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef unsigned long UW;
typedef struct { int sets, ways; UW *tags; } cache;
static cache I1, D1, LL;
static void cinit(cache *c, const char *spec) {
    if (sscanf(spec, "%d:%d", &c->sets, &c->ways) != 2) { fprintf(stderr, "bad spec %s\n", spec); exit(2); }
    c->tags = malloc(sizeof(UW) * c->sets * c->ways);
    for (int i = 0; i < c->sets * c->ways; i++) c->tags[i] = ~0UL;
}
static int setref_miss(cache *c, unsigned set, UW tag) {
    UW *s = &c->tags[set * c->ways]; int i, j;
    if (s[0] == tag) return 0;
    for (i = 1; i < c->ways; i++) if (s[i] == tag) { for (j = i; j > 0; j--) s[j] = s[j-1]; s[0] = tag; return 0; }
    for (j = c->ways - 1; j > 0; j--) s[j] = s[j-1]; s[0] = tag; return 1;
}
static int ref_miss(cache *c, UW a, unsigned size) {
    UW b1 = a >> 12, b2 = (a + size - 1) >> 12;
    unsigned s1 = b1 & (c->sets - 1);
    if (b1 == b2) return setref_miss(c, s1, b1);
    unsigned s2 = b2 & (c->sets - 1);
    if (setref_miss(c, s1, b1)) { setref_miss(c, s2, b2); return 1; }
    return setref_miss(c, s2, b2);
}
static unsigned long long Ir, Dr, Dw, I1m, D1mr, D1mw, LLmi, LLmr, LLmw;
static int counting = 1;
static void ref(int kind, UW a, unsigned sz) {
    if (kind == 'I') {
        if (counting) Ir++;
        if (ref_miss(&I1, a, sz)) { if (counting) I1m++; if (ref_miss(&LL, a, sz) && counting) LLmi++; }
    } else if (kind == 'L' || kind == 'M') { /* cachegrind counts a modify as one read (Dr) */
        if (counting) Dr++;
        if (ref_miss(&D1, a, sz)) { if (counting) D1mr++; if (ref_miss(&LL, a, sz) && counting) LLmr++; }
    } else { /* S */
        if (counting) Dw++;
        if (ref_miss(&D1, a, sz)) { if (counting) D1mw++; if (ref_miss(&LL, a, sz) && counting) LLmw++; }
    }
}
/* returns number of instructions processed; stops after maxI instructions (maxI<0: all) */
static long feed(FILE *f, long maxI) {
    char line[256]; long n = 0;
    while (fgets(line, sizeof line, f)) {
        char k; UW a; unsigned sz;
        const char *p = line;
        if (line[0] == '=') continue;
        while (*p == ' ') p++;
        k = *p;
        if (k != 'I' && k != 'L' && k != 'S' && k != 'M') continue;
        if (sscanf(p + 1, " %lx,%u", &a, &sz) != 2) continue;
        if (k == 'I') { if (maxI >= 0 && n >= maxI) break; n++; }
        ref(k, a, sz);
    }
    return n;
}
int main(int argc, char **argv) {
    const char *warmf = NULL; long warmn = 0; int ai = 1;
    if (argc > 1 && !strcmp(argv[1], "--warm")) { warmf = argv[2]; warmn = atol(argv[3]); ai = 4; }
    if (argc - ai < 3) { fprintf(stderr, "usage: tlbsim [--warm FILE N] I1 D1 LL < trace\n"); return 2; }
    cinit(&I1, argv[ai]); cinit(&D1, argv[ai+1]); cinit(&LL, argv[ai+2]);
    if (warmf) { FILE *w = fopen(warmf, "r"); if (!w) { perror(warmf); return 1; } counting = 0; long n = feed(w, warmn); fclose(w); counting = 1;
                 fprintf(stderr, "warmed with %ld instructions\n", n); }
    feed(stdin, -1);
    printf("Ir %llu Dr %llu Dw %llu I1m %llu D1mr %llu D1mw %llu LLmi %llu LLmr %llu LLmw %llu\n",
           Ir, Dr, Dw, I1m, D1mr, D1mw, LLmi, LLmr, LLmw);
    return 0;
}
