/**
 * Principal component analysis in plain TypeScript: center the data, eigen-decompose the
 * sample covariance (or, with fewer samples than features, the Gram matrix) with the cyclic
 * Jacobi method, sort by variance. Matches scikit-learn's PCA (ddof = 1, the largest-magnitude
 * entry of each component made positive).
 */

export interface PcaResult {
  readonly nSamples: number;
  readonly nFeatures: number;
  readonly mean: number[];
  /** components[k]: unit vector of component k over the features. */
  readonly components: number[][];
  readonly explainedVariance: number[];
  readonly explainedVarianceRatio: number[];
  readonly singularValues: number[];
  readonly totalVariance: number;
}

export interface EigenResult {
  /** Eigenvalues, descending. */
  readonly values: number[];
  /** vectors[k]: unit eigenvector of values[k]. */
  readonly vectors: number[][];
}

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations. */
export function jacobiEigen(matrix: readonly (readonly number[])[], maxSweeps = 100): EigenResult {
  const n = matrix.length;
  const a = matrix.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let i = 0; i < n; i++) {
    if (a[i].length !== n) throw new Error("jacobiEigen: matrix is not square");
    for (let j = 0; j < i; j++)
      if (Math.abs(a[i][j] - a[j][i]) > 1e-9 * (Math.abs(a[i][j]) + Math.abs(a[j][i]) + 1))
        throw new Error("jacobiEigen: matrix is not symmetric");
  }
  const scale = Math.max(1e-300, ...a.map((r, i) => Math.abs(r[i])));
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (Math.sqrt(off) <= 1e-15 * scale * n) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p][q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j][j] - a[i][i]);
  return { values: order.map((i) => a[i][i]), vectors: order.map((i) => v.map((row) => row[i])) };
}

/** Make the largest-magnitude entry positive (deterministic signs, as scikit-learn does). */
function flipSign(vector: number[]): number[] {
  let best = 0;
  for (let i = 1; i < vector.length; i++) if (Math.abs(vector[i]) > Math.abs(vector[best]) + 1e-12) best = i;
  return vector[best] < 0 ? vector.map((x) => -x) : vector;
}

function normalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm > 0 ? v.map((x) => x / norm) : v;
}

export function pca(rows: readonly (readonly number[])[], nComponents: number): PcaResult {
  const n = rows.length;
  const p = n ? rows[0].length : 0;
  if (n < 2) throw new Error(`PCA needs at least 2 samples (rows); found ${n}`);
  if (p < 1) throw new Error("PCA needs at least 1 feature (column)");
  const maxK = Math.min(n, p);
  if (!Number.isInteger(nComponents) || nComponents < 1 || nComponents > maxK) {
    throw new Error(
      `n_components must be an integer from 1 to ${maxK} (min of ${n} samples and ${p} features); got ${nComponents}`,
    );
  }
  const mean = Array.from({ length: p }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
  const x = rows.map((r) => r.map((v, j) => v - mean[j]));

  let values: number[];
  let vectors: number[][];
  if (p <= n) {
    const cov = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (const r of x) for (let i = 0; i < p; i++) for (let j = i; j < p; j++) cov[i][j] += r[i] * r[j];
    for (let i = 0; i < p; i++) for (let j = i; j < p; j++) cov[j][i] = cov[i][j] = cov[i][j] / (n - 1);
    ({ values, vectors } = jacobiEigen(cov));
  } else {
    // Fewer samples than features: eigenvectors of X Xᵀ map to components through Xᵀ.
    const gram = x.map((ri) => x.map((rj) => ri.reduce((s, v, k) => s + v * rj[k], 0) / (n - 1)));
    const eig = jacobiEigen(gram);
    values = eig.values;
    vectors = eig.vectors.map((u) =>
      normalize(Array.from({ length: p }, (_, j) => u.reduce((s, ui, i) => s + ui * x[i][j], 0))),
    );
  }
  values = values.map((v) => Math.max(0, v));
  const totalVariance = x.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0) / (n - 1);
  const explainedVariance = values.slice(0, nComponents);
  return {
    nSamples: n,
    nFeatures: p,
    mean,
    components: vectors.slice(0, nComponents).map(flipSign),
    explainedVariance,
    explainedVarianceRatio: explainedVariance.map((v) => (totalVariance > 0 ? v / totalVariance : 0)),
    singularValues: explainedVariance.map((v) => Math.sqrt(v * (n - 1))),
    totalVariance,
  };
}
