import { useEffect, useMemo, useState } from "preact/hooks";
import { newJobId, submitFileKey } from "../../../model/job-id";
import { projectedCost } from "../../../protocols/budget";
import { jobFolderName } from "../../../model/layout";
import { describeError, getText, listObjects, putText } from "../api/s3";
import { loadSpend } from "../api/spend";
import { checkConfig } from "../lib/config-form";
import { takeDraft, type SubmitDraft } from "../lib/draft";
import { formatBytes, formatUsd } from "../lib/format";
import { iaeCountOf } from "../lib/jobs";
import { ErrorBox, Panel, useAsync } from "./common";
import { useWorkspace } from "./context";

/** Datasets one can submit: every file, and every folder (one IAE for the whole folder). */
function datasetChoices(
  prefix: string,
  keys: readonly { key: string; size: number }[],
): { key: string; label: string; size?: number }[] {
  const folders = new Set<string>();
  const files: { key: string; label: string; size: number }[] = [];
  for (const o of keys) {
    if (o.key.endsWith("/")) continue;
    const rest = o.key.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash > 0) folders.add(`${prefix}${rest.slice(0, slash + 1)}`);
    files.push({ key: o.key, label: rest, size: o.size });
  }
  return [...[...folders].sort().map((f) => ({ key: f, label: `${f.slice(prefix.length)} (folder)` })), ...files];
}

/** Choose datasets, a config and an instance type; see the cost and the remaining budget; submit. */
export function Submit() {
  const { place, analysis, navigate } = useWorkspace();
  const [draft] = useState<SubmitDraft | undefined>(() => takeDraft(place.bucket, place.group));
  const inputs = useAsync(() => listObjects(place.client, place.bucket, `${place.group}/inputs/`), [place]);
  const configs = useAsync(() => listObjects(place.client, place.bucket, `${place.group}/configs/`), [place]);
  const spend = useAsync(() => loadSpend(place), [place]);
  const [selected, setSelected] = useState<string[]>(draft ? [...draft.datasets] : []);
  const [configKey, setConfigKey] = useState<string>(draft?.config ?? "");
  const [instanceType, setInstanceType] = useState<string>(draft?.instanceType ?? analysis.instanceTypes.default);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const choices = useMemo(
    () => datasetChoices(`${place.group}/inputs/`, inputs.data ?? []),
    [inputs.data, place.group],
  );
  const configKeys = (configs.data ?? [])
    .map((o) => o.key)
    .filter((k) => /\.(json|ya?ml)$/i.test(k) && !k.slice(`${place.group}/configs/`.length).includes("/"));
  useEffect(() => {
    if (!configKey && configKeys.length > 0) setConfigKey(configKeys[0]);
  }, [configKeys.join("|")]);
  const configCheck = useAsync(
    async () => (configKey ? checkConfig(configKey, await getText(place.client, place.bucket, configKey)) : undefined),
    [place, configKey],
  );
  const types = [analysis.instanceTypes.default, ...analysis.instanceTypes.allowed];
  const price = analysis.prices[instanceType];
  const check = configCheck.data;
  const iaes = check?.ok ? iaeCountOf(analysis.protocol, selected.length, check.values ?? {}) : selected.length;
  const cost = price !== undefined && check?.ok ? projectedCost(price, iaes, check.durationMinutes ?? 60) : undefined;
  const summary = spend.data;
  const remaining = summary?.remaining ?? undefined;
  const overBudget = cost !== undefined && remaining !== undefined && cost >= remaining;
  const missing = draft ? draft.datasets.filter((d) => !choices.some((c) => c.key === d)) : [];
  const canSubmit = selected.length > 0 && !!configKey && check?.ok === true && !busy;

  const submit = async () => {
    setProblem(undefined);
    setBusy(true);
    try {
      const jobId = newJobId();
      const body = {
        dataname: selected.length === 1 ? selected[0] : selected,
        configname: configKey,
        timestamp: jobId,
        ...(instanceType !== analysis.instanceTypes.default ? { instance_type: instanceType } : {}),
      };
      await putText(
        place.client,
        place.bucket,
        submitFileKey(place.group, jobId),
        `${JSON.stringify(body, null, 2)}\n`,
        "application/json",
      );
      navigate({ view: "jobs", job: jobFolderName(place.analysis, jobId) });
    } catch (err) {
      setProblem(describeError(err));
      setBusy(false);
    }
  };

  return (
    <Panel title="Submit a job">
      {draft?.from ? (
        <p class="note" data-testid="rerun-note">
          Re-running {draft.from} with the same datasets and config (the config as it is now).
        </p>
      ) : null}
      {missing.length > 0 ? <ErrorBox message={`No longer in your inputs: ${missing.join(", ")}`} /> : null}
      <ErrorBox message={inputs.error ?? configs.error ?? spend.error ?? problem} />
      <fieldset>
        <legend>Datasets (one analysis machine each)</legend>
        {choices.length === 0 && !inputs.loading ? <p class="empty">Upload input data first.</p> : null}
        <ul class="choices" data-testid="datasets">
          {choices.map((c) => (
            <li key={c.key}>
              <label class="check">
                <input
                  type="checkbox"
                  value={c.key}
                  checked={selected.includes(c.key)}
                  onChange={(e) =>
                    setSelected(
                      (e.target as HTMLInputElement).checked
                        ? [...selected, c.key]
                        : selected.filter((s) => s !== c.key),
                    )
                  }
                />
                {c.label} {c.size !== undefined ? <small>{formatBytes(c.size)}</small> : null}
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      <label>
        Config
        <select
          value={configKey}
          onChange={(e) => setConfigKey((e.target as HTMLSelectElement).value)}
          data-testid="submit-config"
        >
          {configKeys.length === 0 ? <option value="">(no configs: create one first)</option> : null}
          {configKeys.map((k) => (
            <option key={k} value={k}>
              {k.slice(`${place.group}/configs/`.length)}
            </option>
          ))}
        </select>
      </label>
      {check && !check.ok ? (
        <ul class="problems" data-testid="config-problems">
          {check.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : null}
      <label>
        Instance type
        <select
          value={instanceType}
          onChange={(e) => setInstanceType((e.target as HTMLSelectElement).value)}
          data-testid="submit-instance-type"
        >
          {types.map((t) => (
            <option key={t} value={t}>
              {t}
              {analysis.prices[t] !== undefined ? ` — ${formatUsd(analysis.prices[t])}/h` : ""}
              {t === analysis.instanceTypes.default ? " (default)" : ""}
            </option>
          ))}
        </select>
      </label>
      <div class="cost" data-testid="cost">
        <div>
          Projected cost: <strong data-testid="projected-cost">{cost === undefined ? "—" : formatUsd(cost)}</strong>
          {cost !== undefined ? (
            <small>
              {" "}
              = {formatUsd(price!)}/h × {iaes} IAE(s) × {check?.durationMinutes} min
              {check?.ok && check.values && "__duration__" in check.values ? "" : " (default duration)"}
            </small>
          ) : null}
        </div>
        <div>
          Remaining budget:{" "}
          <strong data-testid="remaining-budget">{summary ? formatUsd(summary.remaining) : "—"}</strong>
          {summary?.budget !== null && summary ? (
            <small> of {formatUsd(summary.budget)}</small>
          ) : (
            <small>
              {" "}
              (known after your group's first submission; analysis default {formatUsd(analysis.defaultBudget)})
            </small>
          )}
        </div>
        {overBudget ? (
          <p class="warning" data-testid="over-budget">
            This job may cost more than the remaining budget: the job manager will reject it.
          </p>
        ) : null}
      </div>
      <button
        type="button"
        class="primary"
        disabled={!canSubmit}
        onClick={() => void submit()}
        data-testid="submit-job"
      >
        {busy ? "Submitting…" : "Submit job"}
      </button>
    </Panel>
  );
}
