/**
 * Job ids are the submit file's `timestamp`; they become part of the job folder name
 * `job__{analysis}_{timestamp}` and of S3 keys, so the CLI restricts them to characters that need
 * no URL encoding.
 */
const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateJobId(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) {
    throw new Error(
      `invalid job id (timestamp) "${id}": expected 1-128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return id;
}

/** A sortable, collision-resistant job id, e.g. `20261123-055012-3f9a`. */
export function newJobId(now: Date = new Date(), random: () => number = Math.random): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, "0");
  return `${stamp}-${suffix}`;
}

/** `{group}/submissions/{jobId}_submit.json`: unique per job so concurrent submits never collide. */
export function submitFileKey(group: string, jobId: string): string {
  return `${group}/submissions/${jobId}_submit.json`;
}
