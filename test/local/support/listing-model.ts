/**
 * What S3 answers to a listing, as a plain model (every key and common prefix after `after`, in
 * UTF-8 byte order, each once), and the keys the listing suites store: group and job folders with
 * no object directly in them, and random keys with unicode, spaces, '+', '%' and trailing '/'.
 */
export const BUCKET = "listing";
export const JOB = "debuggers/results/job__listing_1";

export const FOLDER_KEYS: readonly string[] = [
  "debuggers/inputs/data.csv",
  "debuggers/configs/config.yaml",
  `${JOB}/logs/certificate.txt`,
  `${JOB}/logs/DATASET_NAME:data.csv_STATUS.txt`,
  `${JOB}/process_results/out.json`,
  `${JOB}/internal_ec2_logs/cmd-1/i-0123/awsrunShellScript/0.awsrunShellScript/stdout`,
  "logs/active/i-0123.json",
  "other-lab/submissions/x_submit.json",
];

/** S3's order: UTF-8 bytes. */
export const utf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The complete answer S3 defines: keys and common prefixes after `after`, in order, each once. */
export function model(keys: readonly string[], prefix: string, delimiter: string, after = ""): string[] {
  const out: string[] = [];
  for (const k of [...keys].sort(utf8)) {
    if (!k.startsWith(prefix) || utf8(k, after) <= 0) continue;
    const i = delimiter === "" ? -1 : k.indexOf(delimiter, prefix.length);
    const entry = i === -1 ? k : k.slice(0, i + delimiter.length);
    if (out[out.length - 1] !== entry && entry !== after) out.push(entry);
  }
  return out;
}

/** A deterministic PRNG (tests must not depend on luck). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export const RANDOM_KEYS: readonly string[] = (() => {
  const r = rng(12);
  const parts = ["a", "b", "a-b", "a b", "x+y", "100%", "é", "z", "😀", "_", "A"];
  const pick = () => parts[Math.floor(r() * parts.length)];
  const keys = new Set<string>();
  while (keys.size < 90) {
    const depth = 1 + Math.floor(r() * 4);
    keys.add(Array.from({ length: depth }, pick).join("/") + (r() < 0.1 ? "/" : ""));
  }
  return [...keys];
})();
