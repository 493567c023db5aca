import { loadSpend } from "../api/spend";
import { formatTime, formatUsd } from "../lib/format";
import { jobIdOf } from "../lib/jobs";
import { ErrorBox, Panel, useAsync } from "./common";
import { useWorkspace } from "./context";

/** The group's spending in this analysis, from the summary the platform keeps. */
export function Spend() {
  const { place, analysis, navigate } = useWorkspace();
  const spend = useAsync(() => loadSpend(place), [place]);
  const s = spend.data;
  const jobs = s ? Object.entries(s.jobs).sort(([a], [b]) => (a < b ? 1 : -1)) : [];
  const listed = jobs.reduce((sum, [, j]) => sum + j.cost, 0);
  return (
    <Panel
      title="Spend"
      actions={
        <button type="button" onClick={spend.reload}>
          Refresh
        </button>
      }
    >
      <ErrorBox message={spend.error} />
      {!s && !spend.loading && !spend.error ? (
        <p class="empty" data-testid="no-spend">
          Nothing spent yet: the platform records your group's spending from its first submission on. Until a budget is
          set for your group, the analysis default applies ({formatUsd(analysis.defaultBudget)}).
        </p>
      ) : null}
      {s ? (
        <>
          <dl class="figures" data-testid="spend">
            <div>
              <dt>Spent</dt>
              <dd data-testid="spent">{formatUsd(s.spent)}</dd>
            </div>
            <div>
              <dt>Running jobs may still cost up to</dt>
              <dd data-testid="running">
                {formatUsd(s.runningUpTo)} <small>({s.runningIaes} IAE(s))</small>
              </dd>
            </div>
            <div>
              <dt>Budget</dt>
              <dd data-testid="budget">
                {formatUsd(s.budget)}{" "}
                <small>
                  {s.budgetOrigin === "group"
                    ? "set for your group"
                    : s.budgetOrigin === "analysis-default"
                      ? "analysis default"
                      : ""}
                </small>
              </dd>
            </div>
            <div>
              <dt>Remaining</dt>
              <dd data-testid="remaining" class={s.remaining !== null && s.remaining <= 0 ? "over" : ""}>
                {formatUsd(s.remaining)}
              </dd>
            </div>
          </dl>
          <p class="hint">
            Updated {formatTime(s.updated)}
            {s.budgetCheckedAt ? `; budget as of ${formatTime(s.budgetCheckedAt)}` : ""}. Costs are estimates from
            on-demand prices.
          </p>
          <table class="list" data-testid="job-costs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Cost of finished machines</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map(([name, j]) => (
                <tr key={name} data-job={name}>
                  <td>
                    <a
                      href="#"
                      onClick={(e) => {
                        e.preventDefault();
                        navigate({ view: "jobs", job: name });
                      }}
                    >
                      {jobIdOf(place.analysis, name)}
                    </a>
                  </td>
                  <td>{formatUsd(j.cost)}</td>
                </tr>
              ))}
              {s.spent - listed > 0.005 ? (
                <tr>
                  <td>Earlier jobs</td>
                  <td>{formatUsd(s.spent - listed)}</td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </>
      ) : null}
    </Panel>
  );
}
