import { findDatasetLine, iaeDatasetLine, lineText, withLineFields } from "../../protocols/certificate";
import { buildStatusDoc, reasonsOf, statusOf, type StatusDoc } from "../../protocols/dataset-status";
import type { LogSink } from "./log-sinks";

export interface MarkFailedArgs {
  readonly sink: LogSink;
  readonly dataname: string;
  readonly input: string;
  readonly reason: string;
  readonly exitCode?: number;
}

/**
 * Record a failure that happened outside the analysis command (fetching inputs, uploading
 * results): the status file becomes FAILED with the reason, and so does the certificate line.
 */
export async function markFailed(a: MarkFailedArgs): Promise<void> {
  const now = new Date();
  const existing = await a.sink.readStatus();
  let doc: StatusDoc;
  const status = statusOf(existing);
  if (existing && status !== undefined && status !== "INITIALIZING" && existing.job_start) {
    doc = {
      ...(existing as StatusDoc),
      status: "FAILED",
      reason: [...reasonsOf(existing), a.reason],
      exit_code: a.exitCode ?? existing.exit_code ?? 1,
    };
  } else {
    doc = buildStatusDoc(existing, {
      status: "FAILED",
      reason: a.reason,
      input: a.input,
      exitCode: a.exitCode ?? 1,
      jobStart: now,
      jobFinish: now,
      std: { "0": `${a.reason}\n` },
    });
  }
  await a.sink.writeStatus(doc);
  const cert = await a.sink.readCertificate();
  const old = cert === undefined ? undefined : findDatasetLine(cert, a.dataname, "loose");
  const line = old
    ? withLineFields(old, { STATUS: "FAILED", "LAST COMMAND": lineText(a.reason) })
    : iaeDatasetLine({ dataname: a.dataname, status: "FAILED", time: now, finished: true, lastOutput: a.reason });
  await a.sink.upsertCertificateLine(a.dataname, line);
}
