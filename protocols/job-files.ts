/**
 * Whole-job transitions of a job's files, written by the queue's drain and by cancel (SPEC §11):
 * every dataset's status file and certificate line moves to one status (QUEUED → INITIALIZING when
 * a queued job starts; → CANCELLED or FAILED when it ends without running), and setup lines are
 * appended. Conditional read-modify-writes: a final status (SUCCESS, FAILED, CANCELLED) is never
 * changed, nobody's other lines are lost, and a repeated call changes nothing.
 */
import { appendSetupLines, findDatasetLine, lineField, renderCertificate, upsertDatasetLine } from "./certificate";
import { mapBounded } from "./concurrency";
import { UNCHANGED, updateObject } from "./conditional-update";
import {
  isFinalStatus,
  parseDatasetStatus,
  reasonsOf,
  renderDatasetStatus,
  statusOf,
  type DatasetStatusName,
} from "./dataset-status";
import { limitsOf, type MonitorDeps } from "./deps";
import type { JobRecord, PlannedIae } from "./job-record";
import { certificateKey, datasetLineName, datasetStatusKey } from "../model/layout";
import { formatTime } from "./time-format";

export interface PlanTransition {
  readonly status: DatasetStatusName;
  /** Added to the status file's reasons ("" for none). */
  readonly reason: string;
  /** The certificate line's LAST COMMAND. */
  readonly lastCommand: string;
  /** Move only from these statuses (absent: from any status that is not final). A missing file always moves. */
  readonly from?: readonly DatasetStatusName[];
  /** The IAE of each plan (by index), when the transition names one. */
  readonly instances?: ReadonlyMap<number, string>;
}

/** Every plan the job record knows, in certificate order. */
export function plansOfRecord(record: JobRecord): PlannedIae[] {
  return (record.launch?.batches ?? []).flatMap((b) => b.plans).sort((a, b) => a.index - b.index);
}

/** Move every plan's status file and certificate line, and append `setupLines` to the certificate. */
export async function transitionJob(
  deps: Pick<MonitorDeps, "store" | "clock" | "limits">,
  record: JobRecord,
  t: PlanTransition,
  setupLines: readonly string[] = [],
): Promise<void> {
  const attempts = limitsOf(deps).conditionalWriteAttempts;
  const moves = (current: string | undefined): boolean =>
    current === undefined || (t.from ? (t.from as readonly string[]).includes(current) : !isFinalStatus(current));
  const moved = new Set<number>();
  await mapBounded(plansOfRecord(record), 16, async (plan) => {
    const key = datasetStatusKey(record.jobFolder, plan.dataset, plan.member);
    const out = await updateObject(
      { store: deps.store, bucket: record.outputBucket, key, attempts, sleep: deps.clock.sleep },
      (obj) => {
        const previous = obj ? (parseDatasetStatus(obj.body) ?? {}) : {};
        if (!moves(statusOf(previous))) return UNCHANGED;
        const reasons = reasonsOf(previous);
        const instance = t.instances?.get(plan.index);
        return renderDatasetStatus({
          ...previous,
          status: t.status,
          reason: t.reason !== "" && !reasons.includes(t.reason) ? [...reasons, t.reason] : reasons,
          input: plan.dataset,
          ...(plan.member !== undefined ? { member: plan.member } : {}),
          instance: instance ?? (typeof previous.instance === "string" ? previous.instance : null),
          command: typeof previous.command === "string" ? previous.command : null,
          job: record.jobName,
        });
      },
    );
    if (out.written) moved.add(plan.index);
  });
  const plans = plansOfRecord(record).filter((p) => moved.has(p.index));
  if (plans.length === 0 && setupLines.length === 0) return;
  const time = formatTime(deps.clock.now());
  await updateObject(
    {
      store: deps.store,
      bucket: record.outputBucket,
      key: certificateKey(record.jobFolder),
      attempts,
      sleep: deps.clock.sleep,
    },
    (obj) => {
      let text = obj?.body;
      for (const plan of plans) {
        const dataname = datasetLineName(plan.dataset, plan.member);
        const line = text ? findDatasetLine(text, dataname) : undefined;
        if (line && !moves(lineField(line, "STATUS"))) continue;
        const instance = t.instances?.get(plan.index);
        text = upsertDatasetLine(text, {
          dataname,
          status: t.status,
          time,
          lastCommand: instance ? `${t.lastCommand} ${instance}` : t.lastCommand,
        });
      }
      const missing = setupLines.filter((l) => !(text ?? "").includes(l));
      if (missing.length > 0) text = appendSetupLines(text ?? renderCertificate([], []), missing);
      return text === undefined || text === obj?.body ? UNCHANGED : text;
    },
  );
}
