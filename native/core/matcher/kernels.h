// The SIMD kernels of the matcher, one table per instruction set. The library is built for baseline x86-64;
// each AVX2 / AVX-512 kernel carries a function-level target attribute and is only called when cpuFeatures()
// says the CPU has it.
//
// Sign-code layout ("blocks"): templates are grouped 8 to a block; a block holds 8 rows of 8 words, row j =
// word j of the sign codes of templates 0..7. One AVX-512 register then holds word j of 8 templates, so 8
// XOR + VPOPCNTQ + add give 8 Hamming distances with no horizontal sums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "template_code.h"

namespace faceserver::matcher {

constexpr size_t kBlockTemplates = 8;
constexpr size_t kBlockWords = kBlockTemplates * kSignWords;  // 64 words = 512 bytes per block

enum class KernelPath { Auto, Scalar, Avx2, Avx512 };

struct Kernels {
  KernelPath path;
  // Hamming distances of the 8 * nBlocks templates in `blocks` to the query's sign code. Writes the index
  // (0-based within this call) and distance of every template whose distance is < `below`; returns how many.
  size_t (*hammingBelow)(const uint64_t* blocks, size_t nBlocks, const uint64_t* querySign, uint32_t below,
                         uint32_t* indexOut, uint16_t* distanceOut);
  // The same for the weighted cost: sum over planes p of 2^p x popcount((template sign ^ query sign) &
  // query plane p) (see template_code.h).
  size_t (*weightedBelow)(const uint64_t* blocks, size_t nBlocks, const QueryCodes& query, uint32_t below,
                          uint32_t* indexOut, uint16_t* costOut);
  // For each of n consecutive offset-binary int8 codes: sum(code'[i] * query.code[i]) (the +128 offset is
  // removed by the caller with query.codeSum).
  void (*offsetDots)(const uint8_t* codes, size_t n, const QueryCodes& query, int32_t* out);
  // sum(code[i] * query.unit[i]) for one offset-binary code (the offset removed inside).
  float (*floatDot)(const uint8_t* code, const QueryCodes& query);
};

const Kernels& scalarKernels();
const Kernels& avx2Kernels();
const Kernels& avx512Kernels();

// Auto resolves to the best path this CPU supports; a forced path the CPU lacks throws InvalidArgument.
const Kernels& kernelsFor(KernelPath path);
bool cpuSupports(KernelPath path);
KernelPath bestKernelPath();
const char* kernelPathName(KernelPath path);
KernelPath kernelPathFromName(const std::string& name);  // "auto" | "scalar" | "avx2" | "avx512"

}  // namespace faceserver::matcher
