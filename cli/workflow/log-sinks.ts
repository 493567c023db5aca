import * as fs from "node:fs";
import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { upsertLine } from "../../protocols/certificate";
import { updateObject, type UpdateArgs } from "../../protocols/conditional-update";
import {
  parseDatasetStatus,
  renderDatasetStatus,
  withPlatformFields,
  type StatusDoc,
} from "../../protocols/dataset-status";
import { certificateKey, datasetStatusFileName, datasetStatusKey, type EnsembleMember } from "../../model/layout";
import { realSleep } from "../../protocols/retry";
import { writeFileAtomic } from "./state";

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

/** A status file that is not a JSON object is replaced by a fresh one (and the IAE says so). */
function parseStatus(text: string, where: string): Record<string, unknown> | undefined {
  const doc = parseDatasetStatus(text);
  if (doc === undefined) process.stderr.write(`neurocaas: ${where} is not valid JSON; starting a fresh status file\n`);
  return doc;
}

export class S3LogSink implements LogSink {
  readonly statusKey: string;
  readonly certificateKey: string;
  readonly statusLocation: string;

  private readonly store: S3ObjectStore;

  constructor(private readonly a: S3LogSinkArgs) {
    this.store = new S3ObjectStore(a.client);
    this.statusKey = datasetStatusKey(a.jobFolder, a.datasetKey, a.member);
    this.certificateKey = certificateKey(a.jobFolder);
    this.statusLocation = `s3://${a.bucket}/${this.statusKey}`;
  }

  async readStatus(): Promise<Record<string, unknown> | undefined> {
    const got = await this.store.get(this.a.bucket, this.statusKey);
    return got ? parseStatus(got.body, this.statusLocation) : undefined;
  }

  /**
   * Conditional read-modify-write: fields the platform writes (instance, command, member, …) are
   * taken from the current file, so a command id recorded after this IAE started is kept.
   */
  async writeStatus(doc: StatusDoc): Promise<void> {
    await updateObject(this.update(this.statusKey), (current) =>
      renderDatasetStatus(
        withPlatformFields(doc, current ? parseStatus(current.body, this.statusLocation) : undefined),
      ),
    );
  }

  async readCertificate(): Promise<string | undefined> {
    return (await this.store.get(this.a.bucket, this.certificateKey))?.body;
  }

  /**
   * Several IAEs of one job share the certificate: a conditional read-modify-write (S3 rejects
   * the write when another IAE wrote in between, and it starts again from the new text); servers
   * that ignore the condition are covered by `log-command` re-checking its final line.
   */
  async upsertCertificateLine(dataname: string, line: string): Promise<string> {
    const out = await updateObject(this.update(this.certificateKey), (current) =>
      upsertLine(current?.body, dataname, line, "loose"),
    );
    return out.body as string;
  }

  private update(key: string): UpdateArgs {
    return { store: this.store, bucket: this.a.bucket, key, attempts: 10, sleep: realSleep };
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
    writeFileAtomic(this.statusFile, renderDatasetStatus(doc));
  }

  async readCertificate(): Promise<string | undefined> {
    return fs.existsSync(this.certificateFile) ? fs.readFileSync(this.certificateFile, "utf8") : undefined;
  }

  async upsertCertificateLine(dataname: string, line: string): Promise<string> {
    const next = upsertLine(await this.readCertificate(), dataname, line, "loose");
    writeFileAtomic(this.certificateFile, next);
    return next;
  }
}
