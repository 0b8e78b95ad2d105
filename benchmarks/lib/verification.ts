// Verification metrics over scored pairs (cosine similarity, label same/different).
export interface ScoredPair {
  score: number;
  same: boolean;
}

const round = (v: number, digits = 4) => Number(v.toFixed(digits));

/** Accuracy when "same" means score >= threshold. */
export function accuracyAt(pairs: ScoredPair[], threshold: number): number {
  const right = pairs.filter((p) => (p.score >= threshold) === p.same).length;
  return pairs.length ? right / pairs.length : 0;
}

/** The threshold (midpoint between neighbouring scores) with the best accuracy, and that accuracy. */
export function bestThreshold(pairs: ScoredPair[]): { threshold: number; accuracy: number } {
  const scores = [...new Set(pairs.map((p) => p.score))].sort((a, b) => a - b);
  const candidates = [scores[0] - 1e-6, ...scores.slice(1).map((s, i) => (s + scores[i]) / 2), scores[scores.length - 1] + 1e-6];
  let best = { threshold: candidates[0], accuracy: -1 };
  for (const t of candidates) {
    const a = accuracyAt(pairs, t);
    if (a > best.accuracy) best = { threshold: t, accuracy: a };
  }
  return best;
}

/** True accept rate at the lowest threshold whose false accept rate is <= far. */
export function tarAtFar(pairs: ScoredPair[], far: number): { tar: number; threshold: number; negatives: number } {
  const negatives = pairs.filter((p) => !p.same).map((p) => p.score).sort((a, b) => b - a);
  const positives = pairs.filter((p) => p.same).map((p) => p.score);
  const allowed = Math.floor(far * negatives.length); // false accepts we may make
  const threshold = allowed < negatives.length ? negatives[allowed] + 1e-9 : -Infinity;
  return { tar: round(positives.filter((s) => s >= threshold).length / positives.length), threshold: round(threshold), negatives: negatives.length };
}

/** Area under the ROC curve: the chance a same pair outscores a different pair (ties count half). */
export function rocAuc(pairs: ScoredPair[]): number {
  const pos = pairs.filter((p) => p.same).map((p) => p.score);
  const neg = pairs.filter((p) => !p.same).map((p) => p.score);
  let wins = 0;
  for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
  return pos.length && neg.length ? wins / (pos.length * neg.length) : 0;
}

/** Threshold transfer: choose it on one part, measure on the other. Folds are assigned round-robin. */
export function crossValidated(pairs: ScoredPair[], folds: number): { meanAccuracy: number; minAccuracy: number; thresholds: number[] } {
  const parts = Array.from({ length: folds }, (_, f) => pairs.filter((_, i) => i % folds === f));
  const accuracies: number[] = [];
  const thresholds: number[] = [];
  for (let f = 0; f < folds; f++) {
    const train = parts.filter((_, g) => g !== f).flat();
    const { threshold } = bestThreshold(train);
    thresholds.push(round(threshold));
    accuracies.push(accuracyAt(parts[f], threshold));
  }
  return {
    meanAccuracy: round(accuracies.reduce((s, a) => s + a, 0) / folds),
    minAccuracy: round(Math.min(...accuracies)),
    thresholds,
  };
}

export function verificationReport(pairs: ScoredPair[], fixedThreshold?: number): Record<string, unknown> {
  const best = bestThreshold(pairs);
  const halves = crossValidated(pairs, 2);
  const report: Record<string, unknown> = {
    pairs: pairs.length,
    same: pairs.filter((p) => p.same).length,
    different: pairs.filter((p) => !p.same).length,
    bestAccuracy: round(best.accuracy),
    bestThreshold: round(best.threshold),
    tarAtFar1e2: tarAtFar(pairs, 1e-2),
    tarAtFar1e3: tarAtFar(pairs, 1e-3),
    rocAuc: round(rocAuc(pairs), 5),
    // threshold chosen on one half, accuracy on the other (both ways) and 10-fold cross-validation
    halfSplit: { meanAccuracy: halves.meanAccuracy, minAccuracy: halves.minAccuracy, thresholds: halves.thresholds },
    tenFold: pairs.length >= 20 ? crossValidated(pairs, 10) : undefined,
  };
  if (fixedThreshold !== undefined) {
    report.threshold = fixedThreshold;
    report.accuracy = round(accuracyAt(pairs, fixedThreshold));
  }
  return report;
}
