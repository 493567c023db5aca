/** Step 2's input checks (SPEC 4.1): the datasets and the config exist, and the config is readable. */
import { mapBounded } from "./concurrency";
import { JobError } from "./errors";
import { bucketUnavailableMessage } from "./job-failure";
import { parseJobConfig, type JobConfig } from "./job-config";
import { BucketUnavailableError, type ObjectStore } from "./storage";

/**
 * Every dataset (prefix semantics for keys ending in `/`) and the config exist in `bucket`; one
 * JobError lists every missing input. Returns the certificate line.
 */
export async function checkInputsExist(
  store: ObjectStore,
  bucket: string,
  analysisBucket: string,
  datasets: readonly string[],
  configKey: string,
): Promise<string> {
  const missing: string[] = [];
  let found: boolean[];
  try {
    // A bypass bucket may not exist or not be readable: a listing tells, where HEAD only says 404.
    if (bucket !== analysisBucket) await store.prefixExists(bucket, "");
    found = await mapBounded(datasets, 16, (key) =>
      key.endsWith("/") ? store.prefixExists(bucket, key) : store.exists(bucket, key),
    );
  } catch (err) {
    if (err instanceof BucketUnavailableError)
      throw new JobError(bucketUnavailableMessage(err, "read the inputs from"), "AWS");
    throw err;
  }
  datasets.forEach((d, i) => {
    if (!found[i])
      missing.push(
        `[INPUT ERROR] Dataset ${d} does not exist in bucket ${bucket}${d.endsWith("/") ? " (no object under this folder)" : ""}.`,
      );
  });
  if (!(await store.exists(bucket, configKey)))
    missing.push(`[INPUT ERROR] Config ${configKey} does not exist in bucket ${bucket}.`);
  if (missing.length > 0) {
    throw new JobError(
      `${missing.length} input(s) of this job do not exist; check the dataname and configname of the submit file.`,
      "INTERNAL",
      missing,
    );
  }
  return `Found ${datasets.length} dataset(s) and the config ${configKey}.`;
}

/** The config and its reserved keys (SPEC §3), with the certificate lines about it. */
export async function readJobConfig(
  store: ObjectStore,
  bucket: string,
  key: string,
): Promise<{ config: JobConfig; lines: string[] }> {
  const obj = await store.get(bucket, key);
  if (!obj) throw new JobError(`Config ${key} does not exist.`);
  const config = parseJobConfig(obj.body, key);
  const lines = [
    ...config.notes,
    `Config read: duration ${config.durationMinutes} min${config.durationExplicit ? "" : " (default)"}, additional storage ${config.datasetSizeGb} GB.`,
  ];
  return { config, lines };
}
