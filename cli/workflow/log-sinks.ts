import * as fs from "node:fs";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { certificateKey, datasetStatusFileName, datasetStatusKey, type EnsembleMember } from "../../protocols/layout";
import { writeFileAtomic } from "./state";
import { isNotFound } from "./transfer";
import { upsertCertificateLine, type StatusDoc } from "./status-format";

/**
 * Where `log-command` writes the dataset status file and the certificate line: the job folder
 * in S3 (`log-command`) or a local folder (`log-command-local`).
 */
export interface LogSink {
  /** Human-readable location of the status file. */
  readonly statusLocation: string;
  readStatus(): Promise<Record<string, unknown> | undefined>;
  writeStatus(doc: StatusDoc): Promise<void>;
  /** Read-modify-write of the certificate; returns the certificate as written. */
  upsertCertificateLine(dataname: string, line: string): Promise<string>;
  readCertificate(): Promise<string | undefined>;
}

export interface S3LogSinkArgs {
  readonly client: S3Client;
  readonly bucket: string;
  /** Job folder key without trailing slash, e.g. `grp/results/job__b_123`. */
  readonly jobFolder: string;
  /** Dataset key (its basename names the status file). */
  readonly datasetKey: string;
  /** Ensemble member: its own status file `…_inst{i}_STATUS.txt`. */
  readonly member?: EnsembleMember;
}

async function getText(client: S3Client, bucket: string, key: string): Promise<{ body: string; etag?: string } | undefined> {
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { body: (await res.Body?.transformToString("utf-8")) ?? "", etag: res.ETag };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function parseStatus(text: string, where: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    process.stderr.write(`neurocaas: ${where} is not valid JSON; starting a fresh status file\n`);
    return undefined;
  }
}

/** Status-file fields the IAE side writes; every other field belongs to the platform. */
const IAE_FIELDS = new Set(["input", "status", "reason", "exit_code", "memory_usage", "max_memory_usage", "cpu_usage", "average_cpu_usage", "job_start", "job_finish", "std"]);

/** A conditional write lost (412), or was refused during a concurrent one (409). */
function isConflict(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 412 || status === 409;
}

export class S3LogSink implements LogSink {
  readonly statusKey: string;
  readonly certificateKey: string;
  readonly statusLocation: string;

  constructor(private readonly a: S3LogSinkArgs) {
    this.statusKey = datasetStatusKey(a.jobFolder, a.datasetKey, a.member);
    this.certificateKey = certificateKey(a.jobFolder);
    this.statusLocation = `s3://${a.bucket}/${this.statusKey}`;
  }

  async readStatus(): Promise<Record<string, unknown> | undefined> {
    const got = await getText(this.a.client, this.a.bucket, this.statusKey);
    return got ? parseStatus(got.body, this.statusLocation) : undefined;
  }

  /**
   * Conditional read-modify-write: fields the platform writes (instance, command, member, …) are
   * taken from the current file, so a command id recorded after this IAE started is kept.
   */
  async writeStatus(doc: StatusDoc): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await getText(this.a.client, this.a.bucket, this.statusKey);
      const platform = current ? parseStatus(current.body, this.statusLocation) : undefined;
      const merged = { ...doc, ...Object.fromEntries(Object.entries(platform ?? {}).filter(([k, v]) => !IAE_FIELDS.has(k) && v !== "N/A" && v !== null)) };
      try {
        await this.a.client.send(
          new PutObjectCommand({
            Bucket: this.a.bucket,
            Key: this.statusKey,
            Body: JSON.stringify(merged, null, 2),
            ContentType: "application/json",
            ...(current?.etag ? { IfMatch: current.etag } : { IfNoneMatch: "*" }),
          }),
        );
        return;
      } catch (err) {
        if (isConflict(err) && attempt < 10) continue;
        throw err;
      }
    }
  }

  async readCertificate(): Promise<string | undefined> {
    return (await getText(this.a.client, this.a.bucket, this.certificateKey))?.body;
  }

  /**
   * Several IAEs of one job share the certificate. The write is conditional on the ETag read
   * (S3 rejects it with 412 when another IAE wrote in between, and we retry); servers that ignore
   * the condition are covered by `log-command` re-checking its final line.
   */
  async upsertCertificateLine(dataname: string, line: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const current = await getText(this.a.client, this.a.bucket, this.certificateKey);
      const next = upsertCertificateLine(current?.body, dataname, line);
      try {
        await this.a.client.send(
          new PutObjectCommand({
            Bucket: this.a.bucket,
            Key: this.certificateKey,
            Body: next,
            ContentType: "text/plain; charset=utf-8",
            ...(current?.etag ? { IfMatch: current.etag } : { IfNoneMatch: "*" }),
          }),
        );
        return next;
      } catch (err) {
        if (isConflict(err) && attempt < 10) {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
          continue;
        }
        throw err;
      }
    }
  }
}

export interface LocalLogSinkArgs {
  /** Folder receiving `certificate.txt` and the status file (`{resultpath}/logs`). */
  readonly logsDir: string;
  readonly datasetName: string;
  readonly member?: EnsembleMember;
}

export class LocalLogSink implements LogSink {
  readonly statusFile: string;
  readonly certificateFile: string;
  readonly statusLocation: string;

  constructor(a: LocalLogSinkArgs) {
    this.statusFile = path.join(a.logsDir, datasetStatusFileName(a.datasetName, a.member));
    this.certificateFile = path.join(a.logsDir, "certificate.txt");
    this.statusLocation = this.statusFile;
    fs.mkdirSync(a.logsDir, { recursive: true });
  }

  async readStatus(): Promise<Record<string, unknown> | undefined> {
    if (!fs.existsSync(this.statusFile)) return undefined;
    return parseStatus(fs.readFileSync(this.statusFile, "utf8"), this.statusFile);
  }

  async writeStatus(doc: StatusDoc): Promise<void> {
    writeFileAtomic(this.statusFile, JSON.stringify(doc, null, 2));
  }

  async readCertificate(): Promise<string | undefined> {
    return fs.existsSync(this.certificateFile) ? fs.readFileSync(this.certificateFile, "utf8") : undefined;
  }

  async upsertCertificateLine(dataname: string, line: string): Promise<string> {
    const next = upsertCertificateLine(await this.readCertificate(), dataname, line);
    writeFileAtomic(this.certificateFile, next);
    return next;
  }
}
