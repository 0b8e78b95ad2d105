// Design study for the matcher (benchmarks/RESULTS.md, "Matcher"): how deep in each pre-filter's ranking
// the true top-1 lies (plain Hamming vs sign bits weighted by the query quantised to 3, 4 or 6 signed bits),
// and how often int8 rescoring (fixed x400, a scale per template, each + one residual bit) keeps the true
// top-1 first among the true top-10. Prints fractions of queries, never vectors.
//   g++ -O3 -march=native -fopenmp -o prefilter_study benchmarks/lib/prefilter_study.cpp
//   prefilter_study GALLERY.f32 QUERIES.f32 GT10.i64
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
constexpr int D = 512;
static std::vector<char> readAll(const char* f) {
  FILE* fp = fopen(f, "rb");
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  std::vector<char> d(n);
  if (fread(d.data(), 1, n, fp) != (size_t)n) exit(1);
  fclose(fp);
  return d;
}
struct Q {
  uint64_t sign[8];
  uint64_t planes[3][8][8];
  int bits[3];
};  // planes[variant][plane][word]
static const int kBits[3] = {3, 4, 6};
static void signOf(const float* x, uint64_t* s) {
  memset(s, 0, 64);
  for (int i = 0; i < D; i++)
    if (x[i] > 0) s[i / 64] |= 1ull << (i % 64);
}
static void planesOf(const float* q, int bits, uint64_t pl[8][8]) {
  float m = 0;
  for (int i = 0; i < D; i++) m = std::max(m, std::fabs(q[i]));
  const int hi = (1 << (bits - 1)) - 1;
  const float sc = hi / m;
  memset(pl, 0, 8 * 8 * 8);
  for (int i = 0; i < D; i++) {
    int v = (int)std::lrint(q[i] * sc);
    v = std::max(-hi - 1, std::min(hi, v));
    unsigned u = (unsigned)v & ((1u << bits) - 1);
    for (int p = 0; p < bits; p++)
      if (u >> p & 1) pl[p][i / 64] |= 1ull << (i % 64);
  }
}
static int est(const uint64_t pl[8][8], int bits, const uint64_t* s) {
  int r = 0;
  for (int p = 0; p < bits; p++) {
    int c = 0;
    for (int w = 0; w < 8; w++) c += __builtin_popcountll(pl[p][w] & s[w]);
    r += (p == bits - 1 ? -(1 << p) : (1 << p)) * c;
  }
  return r;
}
static int ham(const uint64_t* a, const uint64_t* b) {
  int c = 0;
  for (int w = 0; w < 8; w++) c += __builtin_popcountll(a[w] ^ b[w]);
  return c;
}
int main(int argc, char** argv) {
  auto g = readAll(argv[1]);
  auto qb = readAll(argv[2]);
  auto gtb = readAll(argv[3]);
  const float* G = (const float*)g.data();
  const float* QF = (const float*)qb.data();
  const int64_t* GT = (const int64_t*)gtb.data();
  size_t n = g.size() / 4 / D, nq = qb.size() / 4 / D;
  std::vector<uint64_t> signs(n * 8);
#pragma omp parallel for
  for (size_t i = 0; i < n; i++) signOf(G + i * D, &signs[i * 8]);
  std::vector<Q> qs(nq);
  std::vector<int> h1(nq), e1[3];
  for (int v = 0; v < 3; v++) e1[v].resize(nq);
  for (size_t q = 0; q < nq; q++) {
    signOf(QF + q * D, qs[q].sign);
    for (int v = 0; v < 3; v++) planesOf(QF + q * D, kBits[v], qs[q].planes[v]);
    const uint64_t* t = &signs[GT[q * 10] * 8];
    h1[q] = ham(qs[q].sign, t);
    for (int v = 0; v < 3; v++) e1[v][q] = est(qs[q].planes[v], kBits[v], t);
  }
  // rank = templates strictly better than the true top-1 (+ ties counted half: ties broken by slot)
  std::vector<long> rh(nq), re[3];
  for (int v = 0; v < 3; v++) re[v].assign(nq, 0);
#pragma omp parallel for schedule(dynamic, 8)
  for (size_t q = 0; q < nq; q++) {
    long a = 0, b[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
      const uint64_t* s = &signs[i * 8];
      a += ham(qs[q].sign, s) < h1[q];
      for (int v = 0; v < 3; v++) b[v] += est(qs[q].planes[v], kBits[v], s) > e1[v][q];
    }
    rh[q] = a;
    for (int v = 0; v < 3; v++) re[v][q] = b[v];
  }
  const long Cs[] = {64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
  auto report = [&](const char* name, std::vector<long>& r) {
    printf("%-8s", name);
    for (long C : Cs) {
      int ok = 0;
      for (size_t q = 0; q < nq; q++) ok += r[q] < C;
      printf(" C%ld:%.4f", C, ok / double(nq));
    }
    printf("\n");
  };
  report("hamming", rh);
  for (int v = 0; v < 3; v++) {
    char nm[16];
    snprintf(nm, 16, "est%d", kBits[v]);
    report(nm, re[v]);
  }
  // precision: rescoring the true top-10 with float query x quantised gallery
  const char* names[] = {"x400", "perTmpl", "perTmpl+1b", "x400+1b"};
  for (int mode = 0; mode < 4; mode++) {
    int ok = 0;
    double maxErr = 0, sse = 0;
    long cnt = 0;
    for (size_t q = 0; q < nq; q++) {
      const float* qq = QF + q * D;
      double best = -9;
      int bi = -1;
      for (int j = 0; j < 10; j++) {
        const float* x = G + GT[q * 10 + j] * D;
        float m = 0;
        for (int i = 0; i < D; i++) m = std::max(m, std::fabs(x[i]));
        double sc = (mode == 0 || mode == 3) ? 400.0 : 127.0 / m;
        double dot = 0, ex = 0;
        for (int i = 0; i < D; i++) {
          double v = x[i] * sc;
          double c = std::max(-127.0, std::min(127.0, std::trunc(v + (v >= 0 ? 0.5 : -0.5))));
          if (mode >= 2) {
            double r = v - c;
            c += r > 0 ? 0.25 : -0.25;
          }
          dot += qq[i] * c / sc;
          ex += double(qq[i]) * x[i];
        }
        double e = std::fabs(dot - ex);
        maxErr = std::max(maxErr, e);
        sse += e * e;
        cnt++;
        if (dot > best) {
          best = dot;
          bi = j;
        }
      }
      ok += bi == 0;
    }
    printf("%-11s recall@1(within true top10)=%.4f  maxErr=%.5f rmsErr=%.5f\n", names[mode], ok / double(nq), maxErr,
           std::sqrt(sse / cnt));
  }
  // max|x| stats
  std::vector<float> mx(n);
  for (size_t i = 0; i < n; i++) {
    float m = 0;
    for (int k = 0; k < D; k++) m = std::max(m, std::fabs(G[i * D + k]));
    mx[i] = m;
  }
  std::sort(mx.begin(), mx.end());
  printf("max|x| p1 %.3f p50 %.3f p99 %.3f max %.3f\n", mx[n / 100], mx[n / 2], mx[n * 99 / 100], mx[n - 1]);
}
