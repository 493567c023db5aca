import { useEffect, useState } from "preact/hooks";
import { JobReader, type JobSnapshot } from "../api/jobs";
import { listFolders } from "../api/s3";
import { loadSpend } from "../api/spend";
import { formatUsd } from "../lib/format";
import { jobFolders, jobIdOf } from "../lib/jobs";
import { ErrorBox, Panel, PhaseBadge, useAsync } from "./common";
import { useWorkspace } from "./context";

/** Most recent jobs shown (older ones stay in storage). */
const SHOWN = 50;

/** The group's jobs, newest first, with their state derived from their files. */
export function Jobs() {
  const { place, navigate } = useWorkspace();
  const folders = useAsync(
    async () => jobFolders(place.analysis, await listFolders(place.client, place.bucket, `${place.group}/results/`)),
    [place],
  );
  const spend = useAsync(() => loadSpend(place), [place]);
  const [states, setStates] = useState<Record<string, JobSnapshot | string>>({});
  useEffect(() => {
    let stopped = false;
    const queue = (folders.data ?? []).slice(0, SHOWN);
    const worker = async () => {
      for (let f = queue.shift(); f !== undefined && !stopped; f = queue.shift()) {
        const name = f;
        const s = await new JobReader(place, name)
          .refresh()
          .catch((err: unknown) => String((err as Error).message ?? err));
        if (!stopped) setStates((prev) => ({ ...prev, [name]: s }));
      }
    };
    void Promise.all([worker(), worker(), worker(), worker()]);
    return () => {
      stopped = true;
    };
  }, [folders.data, place]);
  const list = (folders.data ?? []).slice(0, SHOWN);
  return (
    <Panel
      title="Jobs"
      actions={
        <button
          type="button"
          onClick={() => {
            setStates({});
            folders.reload();
            spend.reload();
          }}
        >
          Refresh
        </button>
      }
    >
      <ErrorBox message={folders.error} />
      {list.length === 0 && !folders.loading ? <p class="empty">No jobs yet: submit one.</p> : null}
      <table class="list jobs" data-testid="jobs">
        <thead>
          <tr>
            <th>Job</th>
            <th>State</th>
            <th>Datasets</th>
            <th>Cost</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {list.map((folder) => {
            const s = states[folder];
            const snap = typeof s === "object" ? s : undefined;
            const cost = spend.data?.jobs[folder]?.cost;
            return (
              <tr
                key={folder}
                data-job={folder}
                class="clickable"
                onClick={() => navigate({ view: "jobs", job: folder })}
              >
                <td class="name">
                  <a
                    href="#"
                    onClick={(e) => {
                      e.preventDefault();
                      navigate({ view: "jobs", job: folder });
                    }}
                  >
                    {jobIdOf(place.analysis, folder)}
                  </a>
                </td>
                <td>
                  {snap ? (
                    <PhaseBadge phase={snap.phase} />
                  ) : typeof s === "string" ? (
                    <span class="error-inline">{s}</span>
                  ) : (
                    "…"
                  )}
                </td>
                <td>{snap ? snap.datasets.length : ""}</td>
                <td>{cost !== undefined ? formatUsd(cost) : ""}</td>
                <td class="reason">{snap?.reasons[0] ?? ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Panel>
  );
}
