import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { jacobiEigen, pca } from "../../examples/pca/pca";
import { parseCsvMatrix, parseNpy, toNpy } from "../../examples/pca/matrix-io";
import { parseConfigText, pcaConfig } from "../../examples/pca/analysis-config";
import { explainedVarianceSvg } from "../../examples/pca/plot";
import { runPca } from "../../examples/pca/main";

const EXAMPLES = path.resolve(__dirname, "../../examples/pca");

/** Compare unit vectors up to sign. */
function expectSameDirection(actual: number[], expected: number[]): void {
  const dot = actual.reduce((s, v, i) => s + v * expected[i], 0);
  expect(Math.abs(dot)).toBeCloseTo(1, 10);
}

describe("PCA numerics", () => {
  it("recovers a hand-computed decomposition (covariance [[2,1.2,0],[1.2,2,0],[0,0,0.4]])", () => {
    // Centered rows ±(2,2,0), ±(1,-1,0), ±(0,0,1), shifted by (10,20,30).
    const rows = [
      [12, 22, 30],
      [8, 18, 30],
      [11, 19, 30],
      [9, 21, 30],
      [10, 20, 31],
      [10, 20, 29],
    ];
    const r = pca(rows, 3);
    expect(r.mean).toEqual([10, 20, 30]);
    expect(r.explainedVariance[0]).toBeCloseTo(3.2, 12);
    expect(r.explainedVariance[1]).toBeCloseTo(0.8, 12);
    expect(r.explainedVariance[2]).toBeCloseTo(0.4, 12);
    expect(r.explainedVarianceRatio[0]).toBeCloseTo(3.2 / 4.4, 12);
    expect(r.explainedVarianceRatio[1]).toBeCloseTo(0.8 / 4.4, 12);
    expect(r.explainedVarianceRatio[2]).toBeCloseTo(0.4 / 4.4, 12);
    const s = Math.SQRT1_2;
    expect(r.components[0][0]).toBeCloseTo(s, 12);
    expect(r.components[0][1]).toBeCloseTo(s, 12);
    expectSameDirection(r.components[1], [s, -s, 0]);
    expectSameDirection(r.components[2], [0, 0, 1]);
    expect(r.components[2][2]).toBeGreaterThan(0);
    expect(r.singularValues[0]).toBeCloseTo(Math.sqrt(3.2 * 5), 12);
  });

  it("diagonalizes a symmetric matrix: A v = λ v, orthonormal vectors", () => {
    const a = [
      [4, 1, -2, 2],
      [1, 2, 0, 1],
      [-2, 0, 3, -2],
      [2, 1, -2, -1],
    ];
    const { values, vectors } = jacobiEigen(a);
    expect(values.reduce((x, y) => x + y, 0)).toBeCloseTo(4 + 2 + 3 - 1, 10);
    for (let k = 0; k < 4; k++) {
      const av = a.map((row) => row.reduce((s, v, j) => s + v * vectors[k][j], 0));
      av.forEach((x, i) => expect(x).toBeCloseTo(values[k] * vectors[k][i], 9));
      for (let l = 0; l < 4; l++) {
        const dot = vectors[k].reduce((s, v, i) => s + v * vectors[l][i], 0);
        expect(dot).toBeCloseTo(k === l ? 1 : 0, 9);
      }
    }
    for (let k = 1; k < 4; k++) expect(values[k - 1]).toBeGreaterThanOrEqual(values[k]);
  });

  it("gives the same answer through the Gram matrix when features outnumber samples", () => {
    const rows = [
      [1, 0, 2, 5, -1],
      [0, 1, 1, 3, 2],
      [2, 2, 0, 1, 0],
      [1, 3, 1, 0, 1],
    ];
    const wide = pca(rows, 2);
    // Reference: eigen-decompose the 5×5 sample covariance directly.
    const n = rows.length;
    const mean = rows[0].map((_, j) => rows.reduce((acc, r) => acc + r[j], 0) / n);
    const cov = mean.map((_, i) =>
      mean.map((__, j) => rows.reduce((acc, r) => acc + (r[i] - mean[i]) * (r[j] - mean[j]), 0) / (n - 1)),
    );
    const ref = jacobiEigen(cov);
    for (let k = 0; k < 2; k++) {
      expect(wide.explainedVariance[k]).toBeCloseTo(ref.values[k], 9);
      expectSameDirection(wide.components[k], ref.vectors[k]);
    }
    expect(wide.explainedVarianceRatio.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-12);
  });

  it("rejects n_components out of range and too few samples", () => {
    expect(() =>
      pca(
        [
          [1, 2],
          [3, 4],
        ],
        3,
      ),
    ).toThrow(/n_components must be an integer from 1 to 2/);
    expect(() =>
      pca(
        [
          [1, 2],
          [3, 4],
        ],
        0,
      ),
    ).toThrow(/from 1 to 2/);
    expect(() => pca([[1, 2]], 1)).toThrow(/at least 2 samples/);
  });
});

describe("PCA input parsing", () => {
  it("reads CSV with and without a header, commas, tabs or spaces", () => {
    expect(parseCsvMatrix("a,b\n1,2\n3,4\n")).toEqual({
      rows: [
        [1, 2],
        [3, 4],
      ],
      featureNames: ["a", "b"],
    });
    expect(parseCsvMatrix("1\t2\n3\t4").rows).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(parseCsvMatrix("1 2\r\n\r\n3e1   -4.5\r\n").rows).toEqual([
      [1, 2],
      [30, -4.5],
    ]);
  });

  it("names the line and column of bad data", () => {
    expect(() => parseCsvMatrix("a,b\n1,2\n3\n", "d.csv")).toThrow(
      "d.csv line 3: expected 2 columns (as on line 1), found 1",
    );
    expect(() => parseCsvMatrix("1,2\n3,x\n", "d.csv")).toThrow('d.csv line 2, column 2: "x" is not a number');
    expect(() => parseCsvMatrix("1,2\n3,\n", "d.csv")).toThrow('d.csv line 2, column 2: "" is not a number');
    expect(() => parseCsvMatrix("a,b\n", "d.csv")).toThrow(/header but no data rows/);
    expect(() => parseCsvMatrix("\n\n", "d.csv")).toThrow(/empty/);
  });

  it("reads .npy arrays in C and Fortran order and rejects other shapes", () => {
    const rows = [
      [1.5, -2, 3],
      [4, 5.25, -6],
    ];
    expect(parseNpy(toNpy(rows)).rows).toEqual(rows);
    // Fortran-order int32 (<i4) of the same matrix.
    let header = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }";
    header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    pre.writeUInt16LE(header.length, 8);
    const data = Buffer.alloc(16);
    [1, 3, 2, 4].forEach((v, i) => data.writeInt32LE(v, i * 4));
    expect(parseNpy(Buffer.concat([pre, Buffer.from(header, "latin1"), data])).rows).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const oneD = Buffer.from(
      toNpy([[1, 2]])
        .toString("latin1")
        .replace("(1, 2)", "(2,)  "),
      "latin1",
    );
    expect(() => parseNpy(oneD, "v.npy")).toThrow(/expected a 2-D array/);
    expect(() => parseNpy(Buffer.from("not numpy"), "x.npy")).toThrow(/not a .npy file/);
  });

  it("validates the config and ignores reserved keys", () => {
    const raw = parseConfigText("n_components: 2\n__duration__: 10\n__dataset_size__: 0\nmystery: 1\n", "c.yaml");
    expect(pcaConfig(raw, "c.yaml")).toEqual({ nComponents: 2, unknownKeys: ["mystery"] });
    expect(pcaConfig(parseConfigText('{"n_components": 1}', "c.json"), "c.json").nComponents).toBe(1);
    expect(() => pcaConfig({ n_components: 1.5 }, "c.yaml")).toThrow(
      "c.yaml: n_components must be a positive integer; got 1.5",
    );
    expect(() => pcaConfig({ n_components: "2" }, "c.yaml")).toThrow(/positive integer/);
    expect(() => parseConfigText("[1, 2]", "c.yaml")).toThrow(/mapping/);
    expect(() => parseConfigText("{bad json", "c.json")).toThrow(/not valid JSON/);
  });
});

describe("PCA analysis outputs", () => {
  let out: string;
  beforeEach(() => (out = fs.mkdtempSync(path.join(os.tmpdir(), "nc-pca-"))));
  afterEach(() => fs.rmSync(out, { recursive: true, force: true }));

  it("writes {dataset}_pca_components.json and an explained-variance plot named after the dataset", () => {
    runPca(path.join(EXAMPLES, "data.csv"), path.join(EXAMPLES, "config.yaml"), out, () => undefined);
    const result = JSON.parse(fs.readFileSync(path.join(out, "data_pca_components.json"), "utf8"));
    expect(result).toMatchObject({
      input: "data.csv",
      n_samples: 6,
      n_features: 3,
      n_components: 2,
      feature_names: ["x", "y", "z"],
      mean: [10, 20, 30],
    });
    expect(result.explained_variance[0]).toBeCloseTo(3.2, 10);
    expect(result.explained_variance[1]).toBeCloseTo(0.8, 10);
    expect(result.explained_variance_ratio[0]).toBeCloseTo(0.727272727, 8);
    expect(result.components).toHaveLength(2);
    const svg = fs.readFileSync(path.join(out, "data_explained_variance.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/class="bar"/g)).toHaveLength(2);
    expect(svg).toContain("PC1: 72.73%");
  });

  it("reads .npy data and reports n_components larger than the data allows", () => {
    const npy = path.join(out, "d.npy");
    fs.writeFileSync(
      npy,
      toNpy([
        [1, 0],
        [0, 1],
        [-1, 0],
        [0, -1],
      ]),
    );
    const cfg = path.join(out, "c.json");
    fs.writeFileSync(cfg, JSON.stringify({ n_components: 3 }));
    expect(() => runPca(npy, cfg, out, () => undefined)).toThrow(
      "c.json: n_components is 3 but the data has 4 samples and 2 features; it must be at most 2",
    );
    fs.writeFileSync(cfg, JSON.stringify({}));
    runPca(npy, cfg, out, () => undefined);
    const result = JSON.parse(fs.readFileSync(path.join(out, "d_pca_components.json"), "utf8"));
    expect(result.n_components).toBe(2);
    expect(result.explained_variance_ratio[0]).toBeCloseTo(0.5, 12);
  });

  it("draws one bar per component with heights proportional to the ratio", () => {
    const svg = explainedVarianceSvg([0.5, 0.25]);
    const heights = [...svg.matchAll(/class="bar"[^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(2);
    expect(heights[0] / heights[1]).toBeCloseTo(2, 1);
  });
});
