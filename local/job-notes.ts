import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { certificateKey, datasetStatusKey, END_MARKER_BODY, endMarkerKey } from "../protocols/layout";

/**
 * What local mode itself writes into a job's logs: the platform-side notes a real deployment gets
 * from EC2/SSM (an IAE killed at its time limit, an IAE lost when the server stopped).
 */

const TERMINAL = new Set(["SUCCESS", "FAILED"]);

async function readText(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await res.Body!.transformToString("utf-8");
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** Pure: the certificate with the dataset's monitoring line marked FAILED and a note appended. */
export function annotateCertificate(certificate: string, datasetKey: string | undefined, note: string): string {
  let text = certificate;
  if (datasetKey !== undefined) {
    text = text
      .split("\n")
      .map((line) => (line.startsWith(`DATANAME: ${datasetKey} |`) ? line.replace(/\| STATUS: [^|]*\|/, "| STATUS: FAILED |") : line))
      .join("\n");
  }
  return `${text.replace(/\n*$/, "\n")}${note}\n`;
}

export interface JobNoteArgs {
  readonly client: S3Client;
  readonly bucket: string;
  readonly jobFolder: string;
  readonly datasetKey?: string;
  readonly instanceId: string;
  /** One line for the certificate, e.g. why the IAE was killed. */
  readonly note: string;
  /** Reason recorded in the dataset status file when it is not final yet. */
  readonly reason: string;
  /** stderr lines to record when the analysis did not report any output itself. */
  readonly stderrLines?: readonly string[];
  /** Force FAILED even if the IAE already reported a final status (e.g. killed after reporting). */
  readonly overrideFinal?: boolean;
}

/** Append the note to the certificate and mark the dataset FAILED in its status file. */
export async function recordIaeFailure(args: JobNoteArgs): Promise<void> {
  const certKey = certificateKey(args.jobFolder);
  const certificate = (await readText(args.client, args.bucket, certKey)) ?? "";
  await args.client.send(new PutObjectCommand({ Bucket: args.bucket, Key: certKey, Body: annotateCertificate(certificate, args.datasetKey, args.note) }));
  if (args.datasetKey === undefined) return;
  const statusKey = datasetStatusKey(args.jobFolder, args.datasetKey);
  const text = await readText(args.client, args.bucket, statusKey);
  let status: Record<string, unknown> = {};
  try {
    if (text !== undefined) status = JSON.parse(text) as Record<string, unknown>;
  } catch {
    status = { unparsed: text };
  }
  if (!args.overrideFinal && typeof status.status === "string" && TERMINAL.has(status.status)) return;
  const std = status.std && typeof status.std === "object" && Object.keys(status.std).length > 0 ? status.std : Object.fromEntries((args.stderrLines ?? []).map((l, i) => [String(i), `${l}\n`]));
  const updated = {
    ...status,
    status: "FAILED",
    // Same shape as the job manager's status files: `reason` is a list of lines.
    reason: [...(Array.isArray(status.reason) ? (status.reason as unknown[]).filter((r) => typeof r === "string" && r !== "") : []), args.reason],
    input: status.input ?? args.datasetKey,
    instance: status.instance ?? args.instanceId,
    job_finish: new Date().toISOString(),
    std,
  };
  await args.client.send(new PutObjectCommand({ Bucket: args.bucket, Key: statusKey, Body: JSON.stringify(updated, null, 2) }));
}

/** Write end.txt unless it exists (clients polling for completion must stop waiting). */
export async function ensureEndMarker(client: S3Client, bucket: string, jobFolder: string): Promise<boolean> {
  const key = endMarkerKey(jobFolder);
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return false;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (!(e.name === "NotFound" || e.$metadata?.httpStatusCode === 404)) throw err;
  }
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: END_MARKER_BODY }));
  return true;
}
