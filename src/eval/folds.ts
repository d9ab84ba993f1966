// Unshuffled k-fold splits, sized as sklearn's KFold: the first n % k folds hold one extra item.

export interface FoldRange {
  start: number;
  size: number;
}

export function kFoldRanges(n: number, folds: number): FoldRange[] {
  if (!Number.isInteger(folds) || folds < 2 || folds > n)
    throw new Error(`kFoldRanges: folds must be an integer in [2, ${n}] for ${n} items, got ${folds}`);
  const base = Math.floor(n / folds);
  const ranges: FoldRange[] = [];
  let start = 0;
  for (let f = 0; f < folds; f++) {
    const size = base + (f < n % folds ? 1 : 0);
    ranges.push({ start, size });
    start += size;
  }
  return ranges;
}
