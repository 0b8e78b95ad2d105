// Exact float ground truth for the matcher benchmark: top-k inner products of every query against every
// gallery row (both unit 512-d float32 files), blocked over 32 queries per pass so the gallery is read from
// memory n/32 times instead of n times. Debian's FAISS rides the reference BLAS for batched search, which
// takes half an hour at 1M x 1000; this takes seconds. The gallery is memory-mapped, not read: at 10M it is
// 20 GB, and the kernel pages it in and out as the row blocks pass.
//   exact_topk GALLERY.f32 QUERIES.f32 K OUT.i64 [THREADS]
// Built by benchmarks/matcher.ts with g++ -O3 -march=native -fopenmp.
#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <utility>
#include <vector>

constexpr size_t kDims = 512;
constexpr size_t kQueryBlock = 32;
constexpr size_t kRowBlock = 256;       // 512 KB of rows: stays in L2 while 32 queries pass over it
constexpr size_t kChunkRows = 1 << 16;  // 128 MB of rows read from the file per pass

static std::vector<float> readAll(const char* file) {
  FILE* f = std::fopen(file, "rb");
  if (!f) {
    std::perror(file);
    std::exit(1);
  }
  std::fseek(f, 0, SEEK_END);
  const long bytes = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  std::vector<float> data(static_cast<size_t>(bytes) / sizeof(float));
  if (std::fread(data.data(), sizeof(float), data.size(), f) != data.size()) {
    std::perror(file);
    std::exit(1);
  }
  std::fclose(f);
  return data;
}

static const float* mapAll(const char* file, size_t& floats) {
  const int fd = open(file, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::perror(file);
    std::exit(1);
  }
  void* data = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    std::perror(file);
    std::exit(1);
  }
  close(fd);
  floats = static_cast<size_t>(st.st_size) / sizeof(float);
  return static_cast<const float*>(data);
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: exact_topk GALLERY.f32 QUERIES.f32 K OUT.i64 [THREADS]\n");
    return 2;
  }
  size_t galleryFloats = 0;
  const float* gallery = mapAll(argv[1], galleryFloats);
  const std::vector<float> queries = readAll(argv[2]);
  const size_t k = static_cast<size_t>(std::atoi(argv[3]));
  if (argc > 5) omp_set_num_threads(std::atoi(argv[5]));
  const size_t n = galleryFloats / kDims, nq = queries.size() / kDims;
  std::vector<int64_t> out(nq * k, -1);

  // Min-heaps of (score, -row) per query: the worst kept on top; ties prefer the lower row.
  using Heap = std::priority_queue<std::pair<float, int64_t>, std::vector<std::pair<float, int64_t>>,
                                   std::greater<std::pair<float, int64_t>>>;
  std::vector<Heap> heaps(nq);
  // The gallery passes once, a chunk at a time (at 10M it does not fit in the page cache); every query block
  // scans the chunk while it is in memory.
  for (size_t c0 = 0; c0 < n; c0 += kChunkRows) {
    const size_t cEnd = std::min(n, c0 + kChunkRows);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t q0 = 0; q0 < nq; q0 += kQueryBlock) {
      const size_t qn = std::min(kQueryBlock, nq - q0);
      std::vector<float> scores(kRowBlock);
      for (size_t r0 = c0; r0 < cEnd; r0 += kRowBlock) {
        const size_t rn = std::min(kRowBlock, cEnd - r0);
        for (size_t qi = 0; qi < qn; ++qi) {
          const float* q = queries.data() + (q0 + qi) * kDims;
          for (size_t r = 0; r < rn; ++r) {
            const float* g = gallery + (r0 + r) * kDims;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (size_t d = 0; d < kDims; ++d) s += q[d] * g[d];
            scores[r] = s;
          }
          auto& heap = heaps[q0 + qi];
          for (size_t r = 0; r < rn; ++r) {
            const std::pair<float, int64_t> e{scores[r], -static_cast<int64_t>(r0 + r)};
            if (heap.size() < k)
              heap.push(e);
            else if (e > heap.top()) {
              heap.pop();
              heap.push(e);
            }
          }
        }
      }
    }
  }
  for (size_t q = 0; q < nq; ++q) {
    auto& heap = heaps[q];
    for (size_t i = heap.size(); i-- > 0;) {
      out[q * k + i] = -heap.top().second;
      heap.pop();
    }
  }
  FILE* f = std::fopen(argv[4], "wb");
  if (!f || std::fwrite(out.data(), sizeof(int64_t), out.size(), f) != out.size()) {
    std::perror(argv[4]);
    return 1;
  }
  std::fclose(f);
  return 0;
}
