import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as path from "node:path";
import { mapBounded } from "../protocols/concurrency";

/** Write many small objects with bounded concurrency. */
export async function putObjects(
  client: S3Client,
  bucket: string,
  objects: Iterable<readonly [string, string]>,
  concurrency = 16,
): Promise<number> {
  const all = [...objects];
  await mapBounded(
    all,
    concurrency,
    ([key, body]) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })),
    { stopOnError: true },
  );
  return all.length;
}

/** The 132 real finished cost logs of fixtures/cost-logs/test_user, as [instance id, JSON text]. */
export function fixtureCostLogs(fixturesDir: string): [string, string][] {
  const dir = path.join(fixturesDir, "cost-logs", "test_user");
  if (!fs.existsSync(dir))
    throw new Error(`cost-log fixtures not found at ${dir} (expected shared/fixtures next to the repository)`);
  return fs
    .readdirSync(dir)
    .filter((f) => /^i-.*\.json$/.test(f))
    .sort()
    .map((f) => [f.slice(0, -".json".length), fs.readFileSync(path.join(dir, f), "utf8")]);
}

/**
 * A group history of `count` finished cost logs `logs/{group}/{id}.json`: the real fixture logs
 * first, then copies of them under new instance ids (`instance-id` rewritten to match the key).
 */
export function* historyLogs(
  group: string,
  count: number,
  fixtures: readonly (readonly [string, string])[],
): Generator<[string, string]> {
  if (count > 0 && fixtures.length === 0) throw new Error("historyLogs: no fixture cost logs to copy");
  for (let i = 0; i < count; i++) {
    const [id, text] = fixtures[i % fixtures.length];
    if (i < fixtures.length) {
      yield [`logs/${group}/${id}.json`, text];
      continue;
    }
    const newId = `i-b${i.toString(16).padStart(16, "0")}`;
    const log = JSON.parse(text) as Record<string, unknown>;
    log["instance-id"] = newId;
    yield [`logs/${group}/${newId}.json`, JSON.stringify(log, null, 2)];
  }
}
