// bench/onednn_pack_probe.c: issue 19, "where a library can share the packed operand between
// threads, do not pack it once per thread". Build and run (the onednn extra installed):
//   gcc -O2 -fopenmp bench/onednn_pack_probe.c -ldl -o /tmp/pack_probe
//   OMP_NUM_THREADS=1 /tmp/pack_probe "$(python -c "import sys; print(sys.prefix)")/lib/libdnnl.so.3"
// Uses internal, unversioned C++ entry points of the onednn-cpu-gomp 2023.2.0 wheel
// (dnnl::impl::cpu::sgemm_pack / sgemm_compute, found by their mangled names): a probe,
// not something the package calls.
// Does oneDNN's sgemm spend measurable time packing the shared operand? One thread,
// each classifier product on half of its output columns (a plan thread's block):
// dnnl_sgemm (packs both operands each call) vs sgemm_compute with the shared operand
// packed beforehand (dnnl::impl::cpu::sgemm_pack, internal C++ symbols of the wheel).
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <stdbool.h>
typedef int64_t dim_t;
typedef int (*gemm_f)(char, char, dim_t, dim_t, dim_t, float, const float*, dim_t, const float*, dim_t, float, float*, dim_t);
typedef int (*size_f)(const char*, const char*, const char*, const dim_t*, const dim_t*, const dim_t*, const dim_t*, const dim_t*, size_t*, bool*);
typedef int (*pack_f)(const char*, const char*, const char*, const dim_t*, const dim_t*, const dim_t*, const dim_t*, const dim_t*, const float*, float*);
typedef int (*comp_f)(const char*, const char*, const dim_t*, const dim_t*, const dim_t*, const float*, const dim_t*, const float*, const dim_t*, const float*, float*, const dim_t*);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
typedef struct { char ta, tb; long m, n, k; } P;
int main(int argc, char** argv) {
  void* h = dlopen(argv[1], RTLD_NOW);
  gemm_f gemm = (gemm_f)dlsym(h, "dnnl_sgemm");
  size_f gsize = (size_f)dlsym(h, "_ZN4dnnl4impl3cpu19sgemm_pack_get_sizeEPKcS3_S3_PKlS5_S5_S5_S5_PmPb");
  pack_f pack = (pack_f)dlsym(h, "_ZN4dnnl4impl3cpu10sgemm_packEPKcS3_S3_PKlS5_S5_S5_S5_PKfPf");
  comp_f comp = (comp_f)dlsym(h, "_ZN4dnnl4impl3cpu13sgemm_computeEPKcS3_PKlS5_S5_PKfS5_S7_S5_S7_PfS5_");
  const long B = 100;
  // row-major c (m, n) = op(a) op(b), as the plan computes them
  P ps[8] = {{'N','N',B,250,784},{'N','N',B,100,250},{'N','N',B,10,100},{'T','N',784,250,B},{'T','N',250,100,B},
             {'T','N',100,10,B},{'N','T',B,250,100},{'N','T',B,100,10}};
  float *A[8], *Bm[8], *C[8], *Pk[8]; double flop = 0;
  dim_t cm[8], cn[8], ck[8], lda[8], ldb[8], ldc[8]; char cta[8], ctb[8];
  for (int i = 0; i < 8; ++i) {
    P p = ps[i];
    A[i] = malloc(4 * p.m * p.k); Bm[i] = malloc(4 * p.k * p.n); C[i] = malloc(4 * p.m * p.n);
    for (long j = 0; j < p.m * p.k; ++j) A[i][j] = (j % 7) * 0.01f;
    for (long j = 0; j < p.k * p.n; ++j) Bm[i][j] = (j % 5) * 0.02f;
    long h2 = p.n / 2;
    flop += 2.0 * p.m * h2 * p.k;
    // column-major view of the half-column block: C^T (h2 x m) = op(b)^T (h2 x k) op(a)^T (k x m)
    // first operand = b block, second (shared) = a.
    cm[i] = h2; cn[i] = p.m; ck[i] = p.k;
    cta[i] = p.tb == 'N' ? 'N' : 'T'; ctb[i] = p.ta == 'N' ? 'N' : 'T';
    lda[i] = p.tb == 'N' ? p.n : p.k; ldb[i] = p.ta == 'N' ? p.k : p.m; ldc[i] = p.n;
    size_t sz = 0; bool dopack = false;
    int st = gsize("B", &cta[i], &ctb[i], &cm[i], &cn[i], &ck[i], &lda[i], &ldb[i], &sz, &dopack);
    Pk[i] = malloc(sz + 64);
    int st2 = pack("B", &cta[i], &ctb[i], &cm[i], &cn[i], &ck[i], &lda[i], &ldb[i], A[i], Pk[i]);
    if (st || st2) printf("product %d: status %d %d size %zu pack %d\n", i, st, st2, sz, dopack);
  }
  float zero = 0;
  char P_ = 'P';
  for (int i = 0; i < 8; ++i) {  // the packed path computes the same block
    P p = ps[i]; long lda_r = p.ta == 'N' ? p.k : p.m, ldb_r = p.tb == 'N' ? p.n : p.k;
    float* ref = malloc(4 * p.m * p.n);
    gemm(p.ta, p.tb, p.m, cm[i], p.k, 1.f, A[i], lda_r, Bm[i], ldb_r, 0.f, ref, p.n);
    comp(&cta[i], &P_, &cm[i], &cn[i], &ck[i], Bm[i], &lda[i], Pk[i], &ldb[i], &zero, C[i], &ldc[i]);
    double d = 0; for (long r = 0; r < p.m; ++r) for (long c = 0; c < cm[i]; ++c) { double e = ref[r*p.n+c] - C[i][r*p.n+c]; d = e*e > d ? e*e : d; }
    printf("product %d max sq diff %g (ref[0]=%g)\n", i, d, ref[0]);
    free(ref);
  }
  double ta[15], tb[15];
  for (int r = 0; r < 15; ++r) {
    for (int mode = 0; mode < 2; ++mode) {
      double t0 = now();
      for (int it = 0; it < 20; ++it)
        for (int i = 0; i < 8; ++i) {
          P p = ps[i];
          long lda_r = p.ta == 'N' ? p.k : p.m, ldb_r = p.tb == 'N' ? p.n : p.k;
          if (mode == 0)
            gemm(p.ta, p.tb, p.m, cm[i], p.k, 1.f, A[i], lda_r, Bm[i], ldb_r, 0.f, C[i], p.n);
          else
            comp(&cta[i], &P_, &cm[i], &cn[i], &ck[i], Bm[i], &lda[i], Pk[i], &ldb[i], &zero, C[i], &ldc[i]);
        }
      (mode ? tb : ta)[r] = flop * 20 / (now() - t0) / 1e9;
    }
  }
  qsort(ta, 15, sizeof(double), cmp); qsort(tb, 15, sizeof(double), cmp);
  printf("half-column blocks, 1 thread: dnnl_sgemm %.1f GFLOP/s, sgemm_compute with the shared operand pre-packed %.1f GFLOP/s (medians of 15)\n", ta[7], tb[7]);
  return 0;
}
