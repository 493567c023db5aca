import { useMemo, useRef, useState } from "preact/hooks";
import { reasonText } from "../../../protocols/dataset-status";
import { certificateDatasetLines, type DatasetState } from "../../../protocols/job-view";
import { datasetLineName } from "../../../model/layout";
import { JobReader, type JobSnapshot } from "../api/jobs";
import { describeError } from "../api/s3";
import { saveDraft } from "../lib/draft";
import { jobIdOf, rerunPlan } from "../lib/jobs";
import { ErrorBox, Panel, PhaseBadge, usePoll } from "./common";
import { useWorkspace } from "./context";
import { Results } from "./Results";

const OVER = new Set(["succeeded", "failed", "rejected"]);
/** Refresh interval of a job that is not over. */
const POLL_MS = 1000;

function notifyEnd(job: string, snap: JobSnapshot): void {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const body =
    snap.phase === "succeeded"
      ? "Every dataset succeeded."
      : (snap.reasons[0] ?? `The job ${snap.phase === "rejected" ? "was stopped by the job manager" : "failed"}.`);
  new Notification(`NeuroCAAS job ${job}: ${snap.phase}`, { body, tag: job });
}

/** One job, live: certificate, per-dataset table, output, the terminate reason, results, re-run. */
export function JobView({ folder }: { folder: string }) {
  const { place, navigate } = useWorkspace();
  const reader = useMemo(() => new JobReader(place, folder), [place, folder]);
  const [snap, setSnap] = useState<JobSnapshot>();
  const [problem, setProblem] = useState<string>();
  const [version, setVersion] = useState(0);
  const [permission, setPermission] = useState(
    typeof Notification === "undefined" ? "denied" : Notification.permission,
  );
  const previous = useRef<string | undefined>(undefined);
  const over = snap !== undefined && OVER.has(snap.phase);

  usePoll(
    async () => {
      try {
        const s = await reader.refresh();
        setProblem(undefined);
        setSnap(s);
        if (previous.current !== undefined && !OVER.has(previous.current) && OVER.has(s.phase)) {
          notifyEnd(jobIdOf(place.analysis, folder), s);
          setVersion((v) => v + 1); // results changed: list them again
        }
        previous.current = s.phase;
      } catch (err) {
        setProblem(describeError(err));
      }
    },
    POLL_MS,
    !over,
  );

  const rerun = () => {
    const plan = rerunPlan(snap?.certificate);
    saveDraft({
      bucket: place.bucket,
      group: place.group,
      datasets: plan.datasets,
      ...(plan.config ? { config: plan.config } : {}),
      ...(plan.instanceType ? { instanceType: plan.instanceType } : {}),
      from: jobIdOf(place.analysis, folder),
    });
    navigate({ view: "submit" });
  };
  const lines = certificateDatasetLines(snap?.certificate);
  return (
    <Panel
      title={`Job ${jobIdOf(place.analysis, folder)}`}
      actions={
        <>
          {permission === "default" && !over ? (
            <button
              type="button"
              onClick={() => void Notification.requestPermission().then(setPermission)}
              data-testid="notify"
            >
              Notify me when it ends
            </button>
          ) : null}
          <button type="button" disabled={!snap?.certificate} onClick={rerun} data-testid="rerun">
            Re-run
          </button>
          <button type="button" onClick={() => navigate({ view: "jobs" })}>
            All jobs
          </button>
        </>
      }
    >
      <p>
        {snap ? <PhaseBadge phase={snap.phase} /> : "Loading…"}{" "}
        {snap && !over ? (
          <span class="live" data-testid="live">
            live, refreshing every second
          </span>
        ) : null}
      </p>
      <ErrorBox message={problem} />
      {snap && snap.reasons.length > 0 ? (
        <div class="terminate" role="alert" data-testid="terminate-reason">
          <strong>Why the job stopped:</strong>
          <ul>
            {snap.reasons.map((r) => (
              <li key={r}>{r.replace(/^\[JOB TERMINATE REASON\]\s*/, "")}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {snap?.phase === "submitted" ? <p class="note">Waiting for the job manager to pick the job up…</p> : null}
      <DatasetTable datasets={snap?.datasets ?? []} lines={lines} />
      {snap?.datasets.map((d) => (
        <Output key={d.file} dataset={d} />
      ))}
      {snap?.certificate ? (
        <details class="certificate" open>
          <summary>Certificate (job log)</summary>
          <pre data-testid="certificate">{snap.certificate}</pre>
        </details>
      ) : null}
      {snap && snap.phase !== "submitted" ? <Results folder={folder} version={version} /> : null}
    </Panel>
  );
}

/** The certificate line of a status file: ensemble member i reports in `…_inst{i}_STATUS.txt` and on the line `{key} (inst{i})`. */
function lineName(d: Pick<DatasetState, "file" | "input">): string | undefined {
  if (d.input === undefined) return undefined;
  const member = /_inst(\d+)_STATUS\.txt$/.exec(d.file)?.[1];
  return datasetLineName(d.input, member !== undefined ? Number(member) : undefined);
}

/** A status-file figure as the IAE wrote it ("12.3 %", "45.6 MB"); blank when not measured. */
function shown(v: unknown): string {
  if (typeof v === "number") return v.toFixed(1);
  return typeof v === "string" && v !== "N/A" ? v : "";
}

function DatasetTable({
  datasets,
  lines,
}: {
  datasets: readonly DatasetState[];
  lines: ReturnType<typeof certificateDatasetLines>;
}) {
  if (datasets.length === 0 && lines.length === 0) return null;
  const rows =
    datasets.length > 0
      ? datasets
      : lines.map((l) => ({
          file: l.dataname,
          input: l.dataname,
          status: l.status,
          body: {} as Record<string, unknown>,
        }));
  return (
    <table class="list datasets" data-testid="datasets-table">
      <thead>
        <tr>
          <th>Dataset</th>
          <th>Status</th>
          <th>Time</th>
          <th>CPU</th>
          <th>Memory</th>
          <th>Last command</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d, i) => {
          const name = lineName(d);
          const line = lines.find((l) => l.dataname === name) ?? lines.find((l) => l.dataname === d.input) ?? lines[i];
          const cpu =
            shown(d.body.cpu_usage) || (line?.cpuUsage && line.cpuUsage !== "N/A" ? `${line.cpuUsage} %` : "");
          const mem = shown(d.body.memory_usage);
          return (
            <tr key={d.file} data-dataset={d.input}>
              <td class="name">{line?.dataname === name ? name : (d.input ?? d.file)}</td>
              <td data-testid="dataset-status">{d.status ?? line?.status ?? "?"}</td>
              <td>{line?.time ?? ""}</td>
              <td>{cpu}</td>
              <td>{mem}</td>
              <td class="last">{line?.lastCommand ?? ""}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** stdout/stderr the IAE recorded in the status file (`std`: line index → text) and the reason. */
function Output({ dataset }: { dataset: DatasetState }) {
  const std = dataset.body.std;
  const text =
    std && typeof std === "object"
      ? Object.entries(std as Record<string, unknown>)
          .sort(([a], [b]) => Number(a) - Number(b))
          .map(([, v]) => String(v))
          .join("")
      : "";
  const reason = reasonText(dataset.reason);
  if (!text && !reason) return null;
  return (
    <details class="output" data-testid="dataset-output">
      <summary>Output of {dataset.input ?? dataset.file}</summary>
      {reason ? <p class="reason">{reason}</p> : null}
      {text ? <pre>{text}</pre> : null}
    </details>
  );
}
