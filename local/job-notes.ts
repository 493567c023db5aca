import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../protocols/aws/s3-store";
import { parseJsonObject, UNCHANGED, updateObject } from "../protocols/conditional-update";
import { certificateKey, datasetLineName, datasetStatusKey, END_MARKER_BODY, endMarkerKey, type EnsembleMember } from "../protocols/layout";

/**
 * What local mode itself writes into a job's logs: the platform-side notes a real deployment gets
 * from EC2/SSM (an IAE killed at its time limit, an IAE lost when the server stopped).
 */

const TERMINAL = new Set(["SUCCESS", "FAILED"]);

/** Pure: the certificate with the dataset's monitoring line (DATANAME `dataname`) marked FAILED and a note appended. */
export function annotateCertificate(certificate: string, dataname: string | undefined, note: string): string {
  let text = certificate;
  if (dataname !== undefined) {
    text = text
      .split("\n")
      .map((line) => (line.startsWith(`DATANAME: ${dataname} |`) ? line.replace(/\| STATUS: [^|]*\|/, "| STATUS: FAILED |") : line))
      .join("\n");
  }
  return `${text.replace(/\n*$/, "\n")}${note}\n`;
}

export interface JobNoteArgs {
  readonly client: S3Client;
  readonly bucket: string;
  readonly jobFolder: string;
  readonly datasetKey?: string;
  /** Ensemble member the IAE ran (its own status file and certificate line). */
  readonly member?: EnsembleMember;
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

/**
 * Append the note to the certificate and mark the dataset FAILED in its status file, each a
 * conditional read-modify-write (the IAE, the job manager and the monitor write the same files).
 */
export async function recordIaeFailure(args: JobNoteArgs): Promise<void> {
  const store = new S3ObjectStore(args.client);
  const dataname = args.datasetKey === undefined ? undefined : datasetLineName(args.datasetKey, args.member);
  await updateObject({ store, bucket: args.bucket, key: certificateKey(args.jobFolder) }, (current) => annotateCertificate(current?.body ?? "", dataname, args.note));
  if (args.datasetKey === undefined) return;
  await updateObject({ store, bucket: args.bucket, key: datasetStatusKey(args.jobFolder, args.datasetKey, args.member) }, (current) => {
    const status: Record<string, unknown> = current === undefined ? {} : (parseJsonObject<Record<string, unknown>>(current.body) ?? { unparsed: current.body });
    if (!args.overrideFinal && typeof status.status === "string" && TERMINAL.has(status.status)) return UNCHANGED;
    const std = status.std && typeof status.std === "object" && Object.keys(status.std).length > 0 ? status.std : Object.fromEntries((args.stderrLines ?? []).map((l, i) => [String(i), `${l}\n`]));
    const updated = {
      ...status,
      status: "FAILED",
      // Same shape as the job manager's status files: `reason` is a list of lines.
      reason: [...(Array.isArray(status.reason) ? (status.reason as unknown[]).filter((r) => typeof r === "string" && r !== "") : []), args.reason],
      input: status.input ?? args.datasetKey,
      ...(args.member !== undefined ? { member: args.member } : {}),
      instance: status.instance ?? args.instanceId,
      job_finish: new Date().toISOString(),
      std,
    };
    return JSON.stringify(updated, null, 2);
  });
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
