import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseCsvMatrix, parseNpy, type Matrix } from "./matrix-io";
import { pca } from "./pca";
import { explainedVarianceSvg } from "./plot";
import { parseConfigText, pcaConfig } from "./analysis-config";

/**
 * The PCA analysis: `tsx examples/pca/main.ts --data FILE --config FILE --out DIR`.
 * Writes `{dataset}_pca_components.json` and `{dataset}_explained_variance.svg` into DIR, named
 * after the dataset (its file name without extension): the IAEs of a multi-dataset job share one
 * `process_results/` folder, so every output is named per dataset. Exit code 2 on bad input.
 */

function args(argv: string[]): { data: string; config: string; out: string } {
  const get = (flag: string): string => {
    const i = argv.indexOf(flag);
    if (i === -1 || !argv[i + 1])
      throw new Error(`missing ${flag} (usage: main.ts --data FILE --config FILE --out DIR)`);
    return argv[i + 1];
  };
  return { data: get("--data"), config: get("--config"), out: get("--out") };
}

export function readMatrix(file: string): Matrix {
  const name = path.basename(file);
  if (!fs.existsSync(file)) throw new Error(`data file ${file} does not exist`);
  if (fs.statSync(file).isDirectory())
    throw new Error(`${name} is a folder; the PCA analysis expects one .csv or .npy file`);
  const buf = fs.readFileSync(file);
  if (name.toLowerCase().endsWith(".npy")) return parseNpy(buf, name);
  return parseCsvMatrix(buf.toString("utf8"), name);
}

/**
 * The dataset's file name without its extension: the prefix of every output of its IAE. Names
 * over 100 characters keep their head plus a hash of the whole, so outputs stay within file-name
 * limits (like run_mock.sh).
 */
export function datasetStem(dataFile: string): string {
  const name = path.basename(dataFile);
  const stem = name.replace(/\.[^.]*$/, "") || name;
  return stem.length <= 100
    ? stem
    : `${stem.slice(0, 100)}-${createHash("sha256").update(stem).digest("hex").slice(0, 8)}`;
}

export function runPca(
  dataFile: string,
  configFile: string,
  outDir: string,
  log: (m: string) => void = console.log,
): void {
  const configName = path.basename(configFile);
  const config = pcaConfig(parseConfigText(fs.readFileSync(configFile, "utf8"), configName), configName);
  for (const k of config.unknownKeys) log(`note: ignoring unknown config key "${k}"`);
  const matrix = readMatrix(dataFile);
  const n = matrix.rows.length;
  const p = matrix.rows[0].length;
  const k = config.nComponents ?? Math.min(n, p);
  if (k > Math.min(n, p)) {
    throw new Error(
      `${configName}: n_components is ${k} but the data has ${n} samples and ${p} features; it must be at most ${Math.min(n, p)}`,
    );
  }
  log(`PCA: ${n} samples × ${p} features, ${k} component(s)`);
  const result = pca(matrix.rows, k);
  fs.mkdirSync(outDir, { recursive: true });
  const output = {
    input: path.basename(dataFile),
    n_samples: result.nSamples,
    n_features: result.nFeatures,
    n_components: k,
    feature_names: matrix.featureNames ?? null,
    mean: result.mean,
    components: result.components,
    explained_variance: result.explainedVariance,
    explained_variance_ratio: result.explainedVarianceRatio,
    singular_values: result.singularValues,
    total_variance: result.totalVariance,
  };
  const stem = datasetStem(dataFile);
  const files = [`${stem}_pca_components.json`, `${stem}_explained_variance.svg`];
  fs.writeFileSync(path.join(outDir, files[0]), JSON.stringify(output, null, 2) + "\n");
  fs.writeFileSync(
    path.join(outDir, files[1]),
    explainedVarianceSvg(result.explainedVarianceRatio, `PCA explained variance: ${path.basename(dataFile)}`),
  );
  result.explainedVarianceRatio.forEach((r, i) =>
    log(`PC${i + 1}: explained variance ${result.explainedVariance[i].toPrecision(6)} (${(r * 100).toFixed(2)}%)`),
  );
  log(`wrote ${files.join(" and ")} to ${outDir}`);
}

if (require.main === module) {
  try {
    const a = args(process.argv.slice(2));
    runPca(a.data, a.config, a.out);
  } catch (e) {
    process.stderr.write(`pca: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
