import type { LogSink } from "./log-sinks";
import { buildStatusDoc, findCertificateLine, formatCertificateLine, type StatusDoc } from "./status-format";

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
  if (existing && typeof existing.status === "string" && existing.status !== "INITIALIZING" && existing.job_start) {
    const earlier = Array.isArray(existing.reason) ? existing.reason.filter((r): r is string => typeof r === "string" && r !== "") : [];
    doc = { ...(existing as StatusDoc), status: "FAILED", reason: [...earlier, a.reason], exit_code: a.exitCode ?? existing.exit_code ?? 1 };
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
  const old = cert === undefined ? undefined : findCertificateLine(cert, a.dataname);
  const line = old
    ? old
        .replace(/\| STATUS: [^|]*\|/, "| STATUS: FAILED |")
        .replace(/\| LAST COMMAND: [^|]*/, (m) => `| LAST COMMAND: ${a.reason.replace(/[|\n]/g, " ").slice(0, 200)}${m.endsWith(" ") ? " " : ""}`)
    : formatCertificateLine({ dataname: a.dataname, status: "FAILED", time: now, finished: true, lastOutput: a.reason });
  await a.sink.upsertCertificateLine(a.dataname, line);
}
