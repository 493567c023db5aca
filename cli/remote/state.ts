import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The development-instance state of one analysis: a JSON file beside its blueprint
 * (`stacks/Pulumi.foo.yaml` → `stacks/Pulumi.foo.devinstances.json`). Pure operations return
 * a new state; only `loadRemoteState` / `saveRemoteState` touch the disk.
 */

const MAX_DEV_INSTANCES = 4;
const REMOTE_STATE_VERSION = 1;

export interface DevImage {
  readonly imageId: string;
  readonly name: string;
  /** ISO time the image was requested. */
  readonly createdAt: string;
}

export interface DevJob {
  readonly commandId: string;
  readonly submitFile: string;
  readonly datasetKey: string;
  readonly configKey: string;
  /** The COMMAND's result-folder argument, `results/debugjob{time}` (group-relative). */
  readonly resultFolder: string;
  /** Bucket key of the job folder, `{group}/results/debugjob{time}`. */
  readonly jobFolder: string;
  readonly statusKey: string;
  readonly command: string;
  readonly startedAt: string;
}

export interface DevInstanceRecord {
  readonly instanceId: string;
  readonly name: string;
  readonly description: string;
  readonly origin: "launched" | "assigned";
  /** ISO time of the last launch/assign/start: an image must be newer to count as saved. */
  readonly lastStartedAt: string;
  readonly images: readonly DevImage[];
  readonly jobs: readonly DevJob[];
}

export interface RemoteState {
  readonly version: number;
  readonly analysis: string;
  readonly selected?: string;
  readonly instances: readonly DevInstanceRecord[];
}

/** Path of the state file beside a stack file. */
export function remoteStatePath(stackFile: string): string {
  const dir = path.dirname(stackFile);
  const base = path.basename(stackFile).replace(/\.ya?ml$/i, "");
  return path.join(dir, `${base}.devinstances.json`);
}

export function emptyRemoteState(analysis: string): RemoteState {
  return { version: REMOTE_STATE_VERSION, analysis, instances: [] };
}

export function loadRemoteState(stackFile: string, analysis: string): RemoteState {
  const file = remoteStatePath(stackFile);
  if (!fs.existsSync(file)) return emptyRemoteState(analysis);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); fix or remove the file`, { cause: err });
  }
  const state = raw as Partial<RemoteState>;
  if (
    typeof raw !== "object" ||
    raw === null ||
    state.version !== REMOTE_STATE_VERSION ||
    !Array.isArray(state.instances)
  ) {
    throw new Error(
      `${file}: not a development-instance state file (expected {"version": ${REMOTE_STATE_VERSION}, "instances": [...]})`,
    );
  }
  return { version: REMOTE_STATE_VERSION, analysis, selected: state.selected, instances: state.instances };
}

export function saveRemoteState(stackFile: string, state: RemoteState): string {
  const file = remoteStatePath(stackFile);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, file);
  return file;
}

function findInstance(state: RemoteState, instanceId: string): DevInstanceRecord | undefined {
  return state.instances.find((i) => i.instanceId === instanceId);
}

/** The selected instance, or a clear error when there is none. */
export function selectedInstance(state: RemoteState): DevInstanceRecord {
  const rec = state.selected ? findInstance(state, state.selected) : undefined;
  if (!rec) {
    throw new Error(
      state.instances.length === 0
        ? `no development instance selected for ${state.analysis}: launch one with "remote launch-devinstance" or add one with "remote assign-instance -i ID"`
        : `no development instance selected for ${state.analysis}: choose one with "remote select-instance -i ID" or "-n NAME" (see "remote list-instances")`,
    );
  }
  return rec;
}

/** Throws when no further instance may be added (SPEC 5.1: at most four per analysis). */
export function assertPoolHasRoom(state: RemoteState, instanceId?: string): void {
  if (instanceId && findInstance(state, instanceId)) {
    throw new Error(`instance ${instanceId} is already one of the development instances of ${state.analysis}`);
  }
  if (state.instances.length >= MAX_DEV_INSTANCES) {
    const ids = state.instances.map((i) => `${i.instanceId} (${i.name})`).join(", ");
    throw new Error(
      `${state.analysis} already has ${MAX_DEV_INSTANCES} development instances (${ids}); terminate one with "remote terminate-devinstance" first`,
    );
  }
}

/** Add an instance and select it. */
export function addInstance(state: RemoteState, rec: DevInstanceRecord): RemoteState {
  assertPoolHasRoom(state, rec.instanceId);
  return { ...state, selected: rec.instanceId, instances: [...state.instances, rec] };
}

/** Select by id or by name; names must be unambiguous. */
export function selectInstance(state: RemoteState, by: { readonly id?: string; readonly name?: string }): RemoteState {
  if (!!by.id === !!by.name) throw new Error("select-instance needs exactly one of -i ID or -n NAME");
  const matches = by.id
    ? state.instances.filter((i) => i.instanceId === by.id)
    : state.instances.filter((i) => i.name === by.name);
  const what = by.id ? `id ${by.id}` : `name "${by.name}"`;
  if (matches.length === 0) {
    const known = state.instances.map((i) => `${i.instanceId} (${i.name})`).join(", ") || "none";
    throw new Error(`no development instance with ${what} for ${state.analysis}; known: ${known}`);
  }
  if (matches.length > 1)
    throw new Error(`${matches.length} development instances are named "${by.name}"; select by id with -i`);
  return { ...state, selected: matches[0].instanceId };
}

export function updateInstance(
  state: RemoteState,
  instanceId: string,
  change: (r: DevInstanceRecord) => DevInstanceRecord,
): RemoteState {
  return { ...state, instances: state.instances.map((i) => (i.instanceId === instanceId ? change(i) : i)) };
}

/** Remove an instance; the selection moves to the first remaining one (or none). */
export function removeInstance(state: RemoteState, instanceId: string): RemoteState {
  const instances = state.instances.filter((i) => i.instanceId !== instanceId);
  const selected = state.selected === instanceId ? instances[0]?.instanceId : state.selected;
  return { version: state.version, analysis: state.analysis, instances, ...(selected ? { selected } : {}) };
}

/** The newest image saved since the instance was last started, if any. */
export function imageSavedSinceStart(rec: DevInstanceRecord): DevImage | undefined {
  const since = Date.parse(rec.lastStartedAt);
  return [...rec.images].reverse().find((img) => Date.parse(img.createdAt) >= since);
}

/** A job of the instance by history index: 0-based, negative counts from the end (-1 = latest). */
export function jobAt(rec: DevInstanceRecord, index: number): DevJob {
  if (rec.jobs.length === 0)
    throw new Error(
      `no job has been submitted to ${rec.instanceId} (${rec.name}); use "remote submit-job -s SUBMITFILE"`,
    );
  const i = index < 0 ? rec.jobs.length + index : index;
  if (!Number.isInteger(index) || i < 0 || i >= rec.jobs.length) {
    throw new Error(
      `job index ${index} is out of range: ${rec.instanceId} has ${rec.jobs.length} job(s) (0..${rec.jobs.length - 1}, or -1 for the latest)`,
    );
  }
  return rec.jobs[i];
}
