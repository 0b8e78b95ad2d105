// The 1:N matcher: id map, codes, every kernel path against the scalar one, every search mode against a
// brute-force float reference, index edits, threads.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <unordered_map>

#include "errors.h"
#include "matcher/bandwidth.h"
#include "matcher/id_map.h"
#include "matcher/kernels.h"
#include "matcher/scan_pool.h"
#include "matcher/searcher.h"
#include "matcher/template_index.h"
#include "matcher/top_k.h"
#include "testing.h"

using namespace faceserver;
using namespace faceserver::matcher;

namespace {

std::vector<KernelPath> availablePaths() {
  std::vector<KernelPath> paths;
  for (KernelPath p : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512}) {
    if (cpuSupports(p)) paths.push_back(p);
  }
  return paths;
}

std::vector<float> randomUnit(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDims);
  for (auto& x : v) x = normal(rng);
  std::vector<float> unit(kDims);
  normalizeEmbedding(v.data(), unit.data());
  return unit;
}

// Face-like data: identities are random directions; each template is its identity plus noise, giving
// same-identity cosines around 0.7 (as measured on real photos) and near-zero cosines between identities.
struct ClusteredData {
  std::vector<float> gallery;  // n x 512
  std::vector<float> probes;   // one fresh sample of the identity of gallery template i, for i in probeOf
  std::vector<size_t> probeOf;
};

ClusteredData clusteredData(size_t n, size_t probes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  ClusteredData data;
  std::vector<std::vector<float>> centres;
  auto sampleAround = [&](const std::vector<float>& centre) {
    std::vector<float> v(kDims);
    for (size_t i = 0; i < kDims; ++i) v[i] = centre[i] + 0.65f * normal(rng) / std::sqrt(float(kDims));
    std::vector<float> unit(kDims);
    normalizeEmbedding(v.data(), unit.data());
    return unit;
  };
  for (size_t i = 0; i < n; ++i) {
    centres.push_back(randomUnit(rng));
    const auto t = sampleAround(centres.back());
    data.gallery.insert(data.gallery.end(), t.begin(), t.end());
  }
  for (size_t p = 0; p < probes; ++p) {
    const size_t of = (p * 7919) % n;
    const auto t = sampleAround(centres[of]);
    data.probes.insert(data.probes.end(), t.begin(), t.end());
    data.probeOf.push_back(of);
  }
  return data;
}

double floatDot(const float* a, const float* b) {
  double s = 0;
  for (size_t i = 0; i < kDims; ++i) s += double(a[i]) * b[i];
  return s;
}

// Brute force on the float vectors: ids (= row numbers) best first.
std::vector<int64_t> floatReference(const std::vector<float>& gallery, const float* query, size_t k) {
  const size_t n = gallery.size() / kDims;
  std::vector<std::pair<double, int64_t>> scored;
  for (size_t i = 0; i < n; ++i) scored.push_back({-floatDot(gallery.data() + i * kDims, query), int64_t(i)});
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
  std::vector<int64_t> ids;
  for (size_t i = 0; i < k; ++i) ids.push_back(scored[i].second);
  return ids;
}

void fill(TemplateIndex& index, const std::vector<float>& gallery) {
  const size_t n = gallery.size() / kDims;
  std::vector<int64_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  index.addBatch(ids.data(), gallery.data(), n);
}

std::vector<int64_t> idsOf(const std::vector<Match>& matches) {
  std::vector<int64_t> ids;
  for (const auto& m : matches) ids.push_back(m.id);
  return ids;
}

}  // namespace

TEST(matcher_id_map_matches_std_map_under_churn) {
  IdMap map;
  std::unordered_map<int64_t, uint32_t> reference;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const int64_t id = static_cast<int64_t>(rng() % 5000);
    if (rng() % 3 == 0) {
      CHECK(map.erase(id) == (reference.erase(id) == 1));
    } else {
      const uint32_t slot = static_cast<uint32_t>(rng());
      map.put(id, slot);
      reference[id] = slot;
    }
  }
  CHECK(map.size() == reference.size());
  for (int64_t id = 0; id < 5000; ++id) {
    const auto it = reference.find(id);
    CHECK(map.find(id) == (it == reference.end() ? -1 : int64_t(it->second)));
  }
}

TEST(matcher_lowest_costs_keeps_the_same_set_as_a_heap) {
  std::mt19937 rng(3);
  for (size_t keep : {1, 10, 300, 5000}) {
    TopK<int64_t> heap(keep);
    LowestCosts buffer(keep, 700);
    // Costs from a small range so many tie; slots in increasing order as a scan visits them.
    for (uint32_t slot = 0; slot < 40000; ++slot) {
      const auto cost = static_cast<uint32_t>(rng() % 700);
      heap.push(cost, slot);
      buffer.add(cost, slot);
    }
    CHECK(buffer.takeSorted() == heap.takeSorted());
  }
}

TEST(matcher_int8_code_keeps_cosine_close_to_float) {
  const auto data = clusteredData(200, 200, 3);
  double worstInt8 = 0, worstFloat = 0, worstRefined = 0;
  for (size_t p = 0; p < 200; ++p) {
    const float* a = data.probes.data() + p * kDims;
    const float* b = data.gallery.data() + data.probeOf[p] * kDims;
    QueryCodes qa;
    encodeQuery(a, qa);
    uint8_t codeB[kDims];
    uint64_t signB[kSignWords], residualB[kSignWords];
    // Scaled by 3: the codes and the scale do not depend on the embedding's length.
    std::vector<float> scaled(b, b + kDims);
    for (auto& x : scaled) x *= 3.0f;
    const float scaleB = encodeTemplate(scaled.data(), codeB, signB, residualB);
    int64_t dot = 0;
    double floatDotOfCode = 0;
    int largest = 0;
    for (size_t i = 0; i < kDims; ++i) {
      const int c = int(codeB[i]) - 128;
      dot += int64_t(qa.code[i]) * c;
      floatDotOfCode += double(qa.unit[i]) * c;
      largest = std::max(largest, std::abs(c));
    }
    CHECK(largest == kCodeMax);  // the largest component uses the whole int8 range
    worstInt8 = std::max(worstInt8, std::fabs(double(dot) * qa.scale * scaleB - floatDot(a, b)));
    worstFloat = std::max(worstFloat, std::fabs(floatDotOfCode * scaleB - floatDot(a, b)));
    const double refined = (floatDotOfCode + residualCorrection(residualB, qa)) * scaleB;
    worstRefined = std::max(worstRefined, std::fabs(refined - floatDot(a, b)));
    for (size_t i = 0; i < kDims; ++i) CHECK(((signB[i / 64] >> (i % 64)) & 1) == (b[i] > 0 ? 1u : 0u));
  }
  // A fixed x400 scale gave up to ~0.0035 (int8 x int8); a scale of its own per template halves that.
  CHECK(worstInt8 < 0.002);
  CHECK(worstFloat < 0.0015);
  CHECK(worstRefined < 0.6 * worstFloat);  // the residual bits halve the rounding error
}

// Templates are encoded 8 floats wide where the CPU has AVX2: the same bits as the SSE2 code, for every input.
TEST(matcher_template_encoding_is_the_same_on_every_path) {
  std::mt19937 rng(29);
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> pick(0, 511);
  for (int t = 0; t < 2000; ++t) {
    std::vector<float> v(kDims);
    const float scale = std::ldexp(1.0f, t % 200 - 100);  // from 2^-100 to 2^99
    for (auto& x : v) x = normal(rng) * scale;
    if (t % 5 == 1) {
      for (auto& x : v) x = std::round(x / scale * 4) * scale / 4;  // ties, zeros, repeated maxima
    }
    if (t % 7 == 2) v[pick(rng)] = -0.0f;
    if (t % 11 == 3) std::fill(v.begin(), v.begin() + 500, 0.0f);
    alignas(64) uint8_t codeA[kDims], codeB[kDims];
    uint64_t signA[kSignWords], signB[kSignWords], residualA[kSignWords], residualB[kSignWords];
    const float a = encodeTemplate(v.data(), codeA, signA, residualA, true);
    const float b = encodeTemplate(v.data(), codeB, signB, residualB, false);
    CHECK(a == b);
    CHECK(std::equal(codeA, codeA + kDims, codeB));
    CHECK(std::equal(signA, signA + kSignWords, signB));
    CHECK(std::equal(residualA, residualA + kSignWords, residualB));
  }
  std::vector<float> bad(kDims, 1.0f);
  bad[kDims - 1] = std::numeric_limits<float>::infinity();
  alignas(64) uint8_t code[kDims];
  uint64_t sign[kSignWords], residual[kSignWords];
  for (bool wide : {true, false}) {
    CHECK_THROWS_CODE(encodeTemplate(bad.data(), code, sign, residual, wide), ErrorCode::InvalidArgument);
    std::vector<float> zero(kDims, 0.0f);
    CHECK_THROWS_CODE(encodeTemplate(zero.data(), code, sign, residual, wide), ErrorCode::InvalidArgument);
  }
}

TEST(matcher_weighted_cost_is_the_query_weighted_hamming_distance) {
  std::mt19937 rng(4);
  const auto q = randomUnit(rng);
  QueryCodes query;
  encodeQuery(q.data(), query);
  float maxAbs = 0;
  for (float x : q) maxAbs = std::max(maxAbs, std::fabs(x));
  std::vector<int> weights(kDims);
  for (size_t i = 0; i < kDims; ++i) {
    for (size_t p = 0; p < kWeightPlanes; ++p) weights[i] += int((query.planes[p][i / 64] >> (i % 64)) & 1) << p;
    CHECK(std::abs(weights[i] - std::fabs(q[i]) * kWeightMax / maxAbs) <= 0.5001f);  // |q_i| rounded to 0..3
  }
  // Cost of a template = sum of the weights of the components whose sign differs from the query's.
  AlignedBuffer<uint64_t> block;
  block.reallocate(kBlockWords);
  std::mt19937_64 bits(9);
  for (size_t i = 0; i < kBlockWords; ++i) block[i] = bits();
  uint32_t index[kBlockTemplates];
  uint16_t cost[kBlockTemplates];
  CHECK(scalarKernels().weightedBelow(block.data(), 1, query, kWeightedCostMax + 1, index, cost) == kBlockTemplates);
  for (size_t lane = 0; lane < kBlockTemplates; ++lane) {
    int expected = 0;
    for (size_t i = 0; i < kDims; ++i) {
      const bool templatePositive = (block[(i / 64) * kBlockTemplates + lane] >> (i % 64)) & 1;
      if (templatePositive != (q[i] > 0)) expected += weights[i];
    }
    CHECK(index[lane] == lane && cost[lane] == expected);
  }
}

TEST(matcher_kernels_of_every_path_equal_scalar) {
  std::mt19937_64 rng(11);
  const size_t blocks = 37, n = blocks * kBlockTemplates;
  std::vector<uint64_t> signs(blocks * kBlockWords);
  for (auto& w : signs) w = rng();
  AlignedBuffer<uint64_t> aligned;
  aligned.reallocate(signs.size());
  std::copy(signs.begin(), signs.end(), aligned.data());
  AlignedBuffer<uint8_t> codes;
  codes.reallocate(n * kDims);
  for (size_t i = 0; i < n * kDims; ++i) codes[i] = static_cast<uint8_t>(1 + rng() % 255);  // 1..255 = -127..127
  std::mt19937 frng(5);
  const auto q = randomUnit(frng);
  QueryCodes query;
  encodeQuery(q.data(), query);

  const Kernels& ref = scalarKernels();
  std::vector<uint32_t> refIndex(n), index(n);
  std::vector<uint16_t> refDist(n), dist(n);
  std::vector<int32_t> refDots(n), dots(n);
  ref.offsetDots(codes.data(), n, query, refDots.data());
  for (KernelPath path : availablePaths()) {
    const Kernels& k = kernelsFor(path);
    for (uint32_t below : {0u, 240u, 256u, 270u, 513u}) {
      const size_t refFound =
          ref.hammingBelow(aligned.data(), blocks, query.sign, below, refIndex.data(), refDist.data());
      const size_t found = k.hammingBelow(aligned.data(), blocks, query.sign, below, index.data(), dist.data());
      CHECK(found == refFound);
      for (size_t i = 0; i < found; ++i) CHECK(index[i] == refIndex[i] && dist[i] == refDist[i]);
    }
    for (uint32_t below : {0u, 300u, 700u, 768u, 900u, kWeightedCostMax + 1}) {
      const size_t refFound = ref.weightedBelow(aligned.data(), blocks, query, below, refIndex.data(), refDist.data());
      const size_t found = k.weightedBelow(aligned.data(), blocks, query, below, index.data(), dist.data());
      CHECK(found == refFound);
      for (size_t i = 0; i < found; ++i) CHECK(index[i] == refIndex[i] && dist[i] == refDist[i]);
    }
    CHECK(ref.weightedBelow(aligned.data(), blocks, query, kWeightedCostMax + 1, refIndex.data(), refDist.data()) == n);
    k.offsetDots(codes.data(), n, query, dots.data());
    CHECK(dots == refDots);
    for (size_t t = 0; t < n; ++t) {
      CHECK_NEAR(k.floatDot(codes.data() + t * kDims, query), ref.floatDot(codes.data() + t * kDims, query), 1e-3);
    }
  }
}

TEST(matcher_every_path_mode_and_thread_count_gives_the_scalar_answers) {
  // Random (uniform on the sphere) and clustered data; 70001 templates so a 2-thread split happens and the
  // last block is partial.
  for (int dataset = 0; dataset < 2; ++dataset) {
    const size_t n = 70001;
    std::vector<float> gallery, probes;
    if (dataset == 0) {
      std::mt19937 rng(21);
      for (size_t i = 0; i < n; ++i) {
        const auto u = randomUnit(rng);
        gallery.insert(gallery.end(), u.begin(), u.end());
      }
      for (size_t i = 0; i < 12; ++i) {
        const auto u = randomUnit(rng);
        probes.insert(probes.end(), u.begin(), u.end());
      }
    } else {
      auto data = clusteredData(n, 12, 22);
      gallery = std::move(data.gallery);
      probes = std::move(data.probes);
    }
    TemplateIndex index;
    fill(index, gallery);
    for (SearchMode mode : {SearchMode::Exact, SearchMode::Hamming, SearchMode::TwoStage, SearchMode::ExactFloat}) {
      for (size_t p = 0; p < probes.size() / kDims; ++p) {
        SearchOptions base;
        base.k = 10;
        base.mode = mode;
        base.prefilter = p % 2 ? Prefilter::Weighted : Prefilter::Hamming;
        base.candidates = 300;
        base.path = KernelPath::Scalar;
        const auto expected = index.search(probes.data() + p * kDims, base);
        CHECK(expected.size() == 10);
        for (KernelPath path : availablePaths()) {
          for (size_t threads : {1, 2}) {
            SearchOptions o = base;
            o.path = path;
            o.threads = threads;
            const auto got = index.search(probes.data() + p * kDims, o);
            CHECK(got.size() == expected.size());
            for (size_t i = 0; i < got.size(); ++i) {
              CHECK_NEAR(got[i].score, expected[i].score, 1e-5);
              // Float sums may differ in the last bits between paths; ids must agree unless scores tie.
              const bool floatScores = mode == SearchMode::ExactFloat || mode == SearchMode::TwoStage;
              if (!floatScores)
                CHECK(got[i].id == expected[i].id);
              else if (i + 1 < got.size() && got[i + 1].score - got[i].score < -1e-5)
                CHECK(got[i].id == expected[i].id);
            }
          }
        }
      }
    }
  }
}

TEST(matcher_searches_agree_with_brute_force_float_reference) {
  const auto data = clusteredData(20000, 200, 31);
  TemplateIndex index;
  fill(index, data.gallery);
  int top1Exact = 0, top1TwoStage = 0, top1Float = 0, top1Hamming = 0, mateFound = 0;
  for (size_t p = 0; p < 200; ++p) {
    const float* q = data.probes.data() + p * kDims;
    const auto reference = floatReference(data.gallery, q, 10);
    for (KernelPath path : availablePaths()) {
      SearchOptions o;
      o.k = 10;
      o.path = path;
      o.mode = SearchMode::Exact;
      const auto exact = index.search(q, o);
      o.mode = SearchMode::TwoStage;
      o.candidates = 200;
      o.rescore = Rescore::Int8;
      const auto twoStage = index.search(q, o);
      o.rescore = Rescore::Float;
      const auto twoStageFloat = index.search(q, o);
      o.prefilter = Prefilter::Hamming;
      const auto twoStageHamming = index.search(q, o);
      // Scores are cosines: the top one is within quantisation error of the float cosine.
      CHECK_NEAR(exact[0].score, floatDot(q, data.gallery.data() + exact[0].id * kDims), 0.002);
      CHECK_NEAR(twoStage[0].score, floatDot(q, data.gallery.data() + twoStage[0].id * kDims), 0.002);
      CHECK_NEAR(twoStageFloat[0].score, floatDot(q, data.gallery.data() + twoStageFloat[0].id * kDims), 0.0015);
      if (path == KernelPath::Scalar) {
        top1Exact += exact[0].id == reference[0];
        top1TwoStage += twoStage[0].id == reference[0];
        top1Float += twoStageFloat[0].id == reference[0];
        top1Hamming += twoStageHamming[0].id == reference[0];
        mateFound += exact[0].id == int64_t(data.probeOf[p]);
      }
    }
  }
  CHECK(top1Exact == 200);
  CHECK(top1TwoStage == 200);
  CHECK(top1Float == 200);
  CHECK(top1Hamming == 200);
  CHECK(mateFound == 200);
}

// Exact mode against the plain formula (int8 dot x query scale x template scale, in double, for every
// template, fully sorted): the early rejection inside the scan must keep exactly the same list and scores.
TEST(matcher_exact_equals_the_plain_int8_formula) {
  const auto data = clusteredData(3000, 12, 41);
  TemplateStore store;
  std::vector<int64_t> ids(3000);
  std::iota(ids.begin(), ids.end(), 0);
  store.put(ids.data(), data.gallery.data(), ids.size());
  std::mt19937 rng(43);
  for (size_t p = 0; p < 16; ++p) {
    // Probes of enrolled identities and random directions (no clear winner: many near-equal costs).
    const std::vector<float> q =
        p < 12 ? std::vector<float>(data.probes.begin() + p * kDims, data.probes.begin() + (p + 1) * kDims)
               : randomUnit(rng);
    QueryCodes codes;
    encodeQuery(q.data(), codes);
    std::vector<std::pair<int64_t, uint32_t>> all;
    for (uint32_t slot = 0; slot < store.size(); ++slot) {
      int32_t dot = 0;
      for (size_t i = 0; i < kDims; ++i) dot += (int32_t(store.codeOf(slot)[i]) - 128) * codes.code[i];
      const double cosine = double(dot) * codes.scale * store.scaleOf(slot);
      all.emplace_back(-std::llround(cosine * (1 << 24)), slot);
    }
    std::sort(all.begin(), all.end());
    for (size_t k : {size_t{1}, size_t{10}, size_t{500}, size_t{3000}}) {
      for (KernelPath path : availablePaths()) {
        for (size_t threads : {size_t{1}, size_t{2}}) {
          SearchOptions o;
          o.mode = SearchMode::Exact;
          o.k = k;
          o.path = path;
          o.threads = threads;
          const auto got = Searcher(store, o).search(codes);
          CHECK(got.size() == k);
          for (size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].id == int64_t(all[i].second));
            CHECK(got[i].score == float(std::min(1.0, double(-all[i].first) / (1 << 24))));
          }
        }
      }
    }
  }
}

TEST(matcher_two_stage_with_all_candidates_equals_exact) {
  std::mt19937 rng(41);
  std::vector<float> gallery;
  for (size_t i = 0; i < 3000; ++i) {
    const auto u = randomUnit(rng);
    gallery.insert(gallery.end(), u.begin(), u.end());
  }
  TemplateIndex index;
  fill(index, gallery);
  for (int p = 0; p < 20; ++p) {
    const auto q = randomUnit(rng);
    SearchOptions exact;
    exact.k = 25;
    exact.mode = SearchMode::Exact;
    SearchOptions all = exact;
    all.mode = SearchMode::TwoStage;
    all.candidateRatio = 1.0;
    all.rescore = Rescore::Int8;
    CHECK(idsOf(index.search(q.data(), exact)) == idsOf(index.search(q.data(), all)));
    SearchOptions exactFloat = exact;
    exactFloat.mode = SearchMode::ExactFloat;
    all.rescore = Rescore::Float;
    CHECK(idsOf(index.search(q.data(), exactFloat)) == idsOf(index.search(q.data(), all)));
    // Uniform random vectors are nearly orthogonal: the int8 order matches float except on near-ties.
    const auto reference = floatReference(gallery, q.data(), 1);
    const auto got = index.search(q.data(), exact);
    CHECK(got[0].id == reference[0] || got[0].score - got[1].score < 0.004);
  }
}

TEST(matcher_auto_candidates_scale_with_the_collection) {
  CHECK(autoCandidates(500, 1) == 128);
  CHECK(autoCandidates(10000, 1) == 128);
  CHECK(autoCandidates(50000, 1) == 500);
  CHECK(autoCandidates(100000, 1) == 1000);
  CHECK(autoCandidates(1000000, 1) == 1024);
  CHECK(autoCandidates(10000, 20) == 320);
  CHECK(autoCandidates(10000, 5000) == 1024);
  // The default search is the two-stage search with that many candidates.
  std::mt19937 rng(43);
  std::vector<float> gallery;
  for (size_t i = 0; i < 20000; ++i) {
    const auto u = randomUnit(rng);
    gallery.insert(gallery.end(), u.begin(), u.end());
  }
  TemplateIndex index;
  fill(index, gallery);
  for (int p = 0; p < 10; ++p) {
    const auto q = randomUnit(rng);
    SearchOptions byDefault;
    byDefault.k = 10;
    SearchOptions named = byDefault;
    named.candidates = 200;
    CHECK(idsOf(index.search(q.data(), byDefault)) == idsOf(index.search(q.data(), named)));
  }
}

TEST(matcher_threshold_and_k_limit_results) {
  const auto data = clusteredData(500, 10, 51);
  TemplateIndex index;
  fill(index, data.gallery);
  SearchOptions o;
  o.k = 50;
  o.threshold = 0.5f;
  for (size_t p = 0; p < 10; ++p) {
    const auto got = index.search(data.probes.data() + p * kDims, o);
    CHECK(got.size() >= 1 && got.size() < 50);  // the mate only (others are near 0)
    CHECK(got[0].id == int64_t(data.probeOf[p]));
    for (const auto& m : got) CHECK(m.score >= 0.5f);
  }
  o.threshold = 0.99f;
  CHECK(index.search(data.probes.data(), o).empty());
}

TEST(matcher_add_replace_remove_keep_index_consistent) {
  std::mt19937 rng(61);
  std::vector<std::vector<float>> vectors;
  TemplateIndex index;
  for (int64_t id = 0; id < 3000; ++id) {
    vectors.push_back(randomUnit(rng));
    index.add(id * 1000003, vectors.back().data());
  }
  CHECK(index.size() == 3000);
  // Remove every third id (swap-remove moves others around), then each survivor still finds itself.
  for (int64_t id = 0; id < 3000; id += 3) CHECK(index.remove(id * 1000003));
  CHECK(!index.remove(0));
  CHECK(index.size() == 2000);
  SearchOptions o;
  o.mode = SearchMode::Exact;
  for (int64_t id = 0; id < 3000; ++id) {
    CHECK(index.contains(id * 1000003) == (id % 3 != 0));
    if (id % 3 == 0) continue;
    const auto got = index.search(vectors[id].data(), o);
    CHECK(got[0].id == id * 1000003);
    CHECK(got[0].score > 0.99f);
  }
  // Replacing: adding an existing id overwrites its template, the size stays.
  const auto fresh = randomUnit(rng);
  index.add(1 * 1000003, fresh.data());
  CHECK(index.size() == 2000);
  CHECK(index.search(fresh.data(), o)[0].id == 1000003);
  CHECK(index.search(vectors[1].data(), o)[0].id != 1000003);
  index.clear();
  CHECK(index.size() == 0);
  CHECK(index.search(fresh.data(), o).empty());
}

TEST(matcher_batch_with_replacements_and_repeats_equals_single_adds_and_bad_rows_change_nothing) {
  std::mt19937 rng(67);
  std::vector<float> rows;
  for (int i = 0; i < 40; ++i) {
    const auto v = randomUnit(rng);
    rows.insert(rows.end(), v.begin(), v.end());
  }
  // Ids 0..19 first; then a batch that replaces some, adds new ones, and repeats ids (the last one wins).
  const std::vector<int64_t> batchIds = {25, 3, 20, 3, 21, 17, 25, 22, 0, 23, 24, 17, 26, 27, 28, 29, 30, 31, 32, 33};
  TemplateIndex batched, single;
  for (int64_t id = 0; id < 20; ++id) {
    batched.add(id, rows.data() + id * kDims);
    single.add(id, rows.data() + id * kDims);
  }
  const float* batchRows = rows.data() + 20 * kDims;
  // A bad row (or id) anywhere in the batch: nothing changes, whatever came before it in the batch.
  std::vector<float> bad(batchRows, batchRows + batchIds.size() * kDims);
  bad[11 * kDims + 5] = std::nanf("");
  CHECK_THROWS_CODE(batched.addBatch(batchIds.data(), bad.data(), batchIds.size()), ErrorCode::InvalidArgument);
  std::vector<int64_t> negative = batchIds;
  negative[15] = -1;
  CHECK_THROWS_CODE(batched.addBatch(negative.data(), batchRows, batchIds.size()), ErrorCode::InvalidArgument);
  CHECK(batched.size() == 20);
  for (int64_t id = 20; id < 34; ++id) CHECK(!batched.contains(id));
  SearchOptions exact;
  exact.mode = SearchMode::Exact;
  exact.k = 40;
  for (int i = 0; i < 40; ++i) {
    const auto a = batched.search(rows.data() + i * kDims, exact), b = single.search(rows.data() + i * kDims, exact);
    CHECK(idsOf(a) == idsOf(b));
  }
  batched.addBatch(batchIds.data(), batchRows, batchIds.size());
  for (size_t i = 0; i < batchIds.size(); ++i) single.add(batchIds[i], batchRows + i * kDims);
  CHECK(batched.size() == single.size());
  CHECK(batched.size() == 34);
  for (int i = 0; i < 40; ++i) {
    const auto a = batched.search(rows.data() + i * kDims, exact), b = single.search(rows.data() + i * kDims, exact);
    CHECK(idsOf(a) == idsOf(b));
    for (size_t j = 0; j < a.size(); ++j) CHECK(a[j].score == b[j].score);
  }
}

TEST(matcher_memory_per_template_is_under_budget_and_shrinks_after_removes) {
  std::mt19937 rng(71);
  const size_t n = 100000;
  std::vector<float> gallery(n * kDims);
  std::normal_distribution<float> normal;
  for (auto& x : gallery) x = normal(rng);
  TemplateIndex index;
  fill(index, gallery);
  CHECK(index.bytesPerTemplate() <= 700);
  CHECK(index.bytesPerTemplate() >= 584);
  const size_t fullBytes = index.memoryBytes();
  for (int64_t id = 0; id < int64_t(n); id += 1) {
    if (id % 10 != 0) index.remove(id);
  }
  CHECK(index.size() == n / 10);
  // Capacity follows the size down (at most 2x slack), so memory is given back rather than kept.
  CHECK(index.memoryBytes() < fullBytes / 4);
  CHECK(index.bytesPerTemplate() <= 2 * 700);
}

// The 700 bytes per template budget holds however a collection grows: reserved up front, one add at a time,
// or in batches without reserve (capacity is what memoryBytes() reports, so the slack counts).
TEST(matcher_memory_per_template_stays_under_budget_in_every_growth_pattern) {
  std::mt19937 rng(73);
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 64; ++i) vectors.push_back(randomUnit(rng));
  const size_t n = 300000, from = 4096;
  std::vector<float> batch;
  for (size_t i = 0; i < 1000; ++i) batch.insert(batch.end(), vectors[i % 64].begin(), vectors[i % 64].end());
  double worstSingle = 0, worstBatched = 0;
  TemplateIndex single, batched, reserved;
  for (size_t i = 0; i < n; ++i) {
    single.add(int64_t(i), vectors[i % 64].data());
    if (i + 1 >= from) worstSingle = std::max(worstSingle, single.bytesPerTemplate());
  }
  std::vector<int64_t> ids(1000);
  for (size_t i = 0; i < n; i += 1000) {
    std::iota(ids.begin(), ids.end(), int64_t(i));
    batched.addBatch(ids.data(), batch.data(), 1000);
    if (i + 1000 >= from) worstBatched = std::max(worstBatched, batched.bytesPerTemplate());
  }
  reserved.reserve(n);
  for (size_t i = 0; i < n; i += 1000) {
    std::iota(ids.begin(), ids.end(), int64_t(i));
    reserved.addBatch(ids.data(), batch.data(), 1000);
  }
  std::printf("     bytes/template: single adds <= %.1f, batches of 1000 <= %.1f, reserved %.1f\n", worstSingle,
              worstBatched, reserved.bytesPerTemplate());
  CHECK(worstSingle <= 700);
  CHECK(worstBatched <= 700);
  CHECK(reserved.bytesPerTemplate() <= 680);
  // 652 bytes of codes, scale and id are the floor: the reported capacity is never below what is stored.
  CHECK(reserved.bytesPerTemplate() >= 652);
  CHECK(single.bytesPerTemplate() >= 652);
}

// Shrinking gives pages back in place and growing again re-commits them: every template survives both.
TEST(matcher_templates_survive_shrinking_and_growing_again) {
  std::mt19937 rng(79);
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 200; ++i) vectors.push_back(randomUnit(rng));
  const int64_t n = 40000;
  TemplateIndex index;
  for (int64_t id = 0; id < n; ++id) index.add(id, vectors[id % 200].data());
  const size_t full = index.memoryBytes();
  for (int64_t id = 200; id < n; ++id) CHECK(index.remove(id));
  CHECK(index.memoryBytes() < full / 10);
  for (int64_t id = n - 1; id >= 200; --id) index.add(id, vectors[(id + 1) % 200].data());  // new templates
  CHECK(index.size() == size_t(n));
  CHECK(index.bytesPerTemplate() <= 700);
  SearchOptions o;
  o.mode = SearchMode::Exact;
  o.k = 1000;
  for (int i = 0; i < 200; ++i) {
    // Vector i is template i and every re-added id with (id + 1) % 200 == i: 1 + 199 of them, all scoring ~1.
    const auto got = index.search(vectors[i].data(), o);
    size_t exact = 0;
    for (const auto& m : got) {
      if (m.score < 0.99f) break;
      CHECK(m.id == i || (m.id >= 200 && (m.id + 1) % 200 == i));
      ++exact;
    }
    CHECK(exact == 200);
  }
}

TEST(matcher_rejects_bad_input) {
  TemplateIndex index;
  std::vector<float> v(kDims, 0.0f);
  CHECK_THROWS_CODE(index.add(1, v.data()), ErrorCode::InvalidArgument);  // zero vector
  v[3] = std::nanf("");
  CHECK_THROWS_CODE(index.add(1, v.data()), ErrorCode::InvalidArgument);
  v[3] = 1.0f;
  CHECK_THROWS_CODE(index.add(-5, v.data()), ErrorCode::InvalidArgument);
  index.add(5, v.data());
  SearchOptions o;
  o.k = 0;
  CHECK_THROWS_CODE(index.search(v.data(), o), ErrorCode::InvalidArgument);
  o.k = 1;
  o.candidateRatio = 2;
  CHECK_THROWS_CODE(index.search(v.data(), o), ErrorCode::InvalidArgument);
  // A batch with one bad row changes nothing.
  std::vector<float> batch(2 * kDims, 0.5f);
  batch[kDims + 7] = std::numeric_limits<float>::infinity();
  const int64_t ids[2] = {10, 11};
  CHECK_THROWS_CODE(index.addBatch(ids, batch.data(), 2), ErrorCode::InvalidArgument);
  CHECK(index.size() == 1);
  CHECK_THROWS_CODE(kernelPathFromName("sse9"), ErrorCode::InvalidArgument);
}

TEST(matcher_scan_pool_runs_every_task_and_rethrows) {
  ScanPool& pool = ScanPool::shared();
  for (int round = 0; round < 200; ++round) {
    std::vector<int> hits(5, 0);
    pool.run(hits.size(), [&](size_t t) { hits[t] += 1; });
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  }
  bool thrown = false;
  try {
    pool.run(3, [](size_t t) {
      if (t == 1) throw EngineError(ErrorCode::Internal, "task failed");
    });
  } catch (const EngineError&) {
    thrown = true;
  }
  CHECK(thrown);
}

TEST(matcher_measures_read_bandwidth) {
  const auto result = measureReadBandwidth(size_t{64} << 20, 2);
  CHECK(result.gbPerSecond > 0.5 && result.gbPerSecond < 1000);
}
