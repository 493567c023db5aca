import { SPEND_SUMMARY_PREFIX } from "../../model/spend-summary";
import type { ComputeBackend } from "../../protocols/compute";
import type { ProtocolDeps } from "../../protocols/deps";
import type { ObjectStore } from "../../protocols/storage";

/** Thrown by every call of a killed handler: it stopped there, nothing after it happened. */
export class Killed extends Error {
  constructor(at: string) {
    super(`killed at ${at}`);
    this.name = "Killed";
  }
}

/** One side effect a handler asks for (reads are not counted). */
export interface Effect {
  /** Position among the handler's effects (1-based). */
  readonly n: number;
  /** e.g. `put logs/_jobs/g/job.json`, `launch`, `sendCommand i-…` */
  readonly what: string;
}

export interface KillSwitch {
  /** Deps whose store and compute die at the chosen effect. */
  readonly deps: ProtocolDeps;
  /** Effects asked for so far (including the one that killed). */
  readonly effects: Effect[];
  readonly killed: () => boolean;
}

/**
 * Wrap a handler's deps so that it dies at one effect, as a Lambda killed by its timeout or a
 * crash: `when` picks the effect; with `after`, the effect happens and the handler dies right
 * after it (its answer is lost); otherwise it dies just before. From then on every call throws,
 * so not even the handler's own failure handling can write anything.
 */
export function killAt(deps: ProtocolDeps, when: (e: Effect) => boolean, after = false): KillSwitch {
  const effects: Effect[] = [];
  let dead = false;
  const guard = async <T>(what: string, effect: boolean, call: () => Promise<T>): Promise<T> => {
    if (dead) throw new Killed(what);
    if (!effect) return call();
    const e = { n: effects.length + 1, what };
    effects.push(e);
    if (!when(e)) return call();
    if (!after) {
      dead = true;
      throw new Killed(what);
    }
    await call();
    dead = true;
    throw new Killed(what);
  };
  const s = deps.store;
  const store: ObjectStore = {
    get: (b, k) => guard(`get ${k}`, false, () => s.get(b, k)),
    // The users' spend summary is a best-effort view the next event rewrites (spend-summary-writer.ts),
    // not an effect the protocols must make exactly once.
    put: (b, k, body, o) => guard(`put ${k}`, !k.startsWith(SPEND_SUMMARY_PREFIX), () => s.put(b, k, body, o)),
    exists: (b, k) => guard(`exists ${k}`, false, () => s.exists(b, k)),
    prefixExists: (b, p) => guard(`list ${p}`, false, () => s.prefixExists(b, p)),
    list: (b, p, l) => guard(`list ${p}`, false, () => s.list(b, p, l)),
    delete: (b, k) => guard(`delete ${k}`, true, () => s.delete(b, k)),
    copy: (sb, sk, tb, tk) => guard(`copy ${tk}`, true, () => s.copy(sb, sk, tb, tk)),
  };
  const c = deps.compute;
  const compute: ComputeBackend = {
    launch: (r) => guard(`launch ${r.clientToken.slice(0, 8)}`, true, () => c.launch(r)),
    terminate: (ids) => guard(`terminate ${ids.join(",")}`, true, () => c.terminate(ids)),
    stop: (ids) => guard(`stop ${ids.join(",")}`, true, () => c.stop(ids)),
    describe: (ids) => guard("describe", false, () => c.describe(ids)),
    listRunning: (f) => guard("listRunning", false, () => c.listRunning(f)),
    countRunning: (f) => guard("countRunning", false, () => c.countRunning(f)),
    sendCommand: (r) => guard(`sendCommand ${r.instanceId}`, true, () => c.sendCommand(r)),
    findCommand: (i, d) => guard("findCommand", false, () => c.findCommand(i, d)),
    commandStatus: (i, id) => guard("commandStatus", false, () => c.commandStatus(i, id)),
    activeCommands: (i) => guard("activeCommands", false, () => c.activeCommands(i)),
  };
  return { deps: { ...deps, store, compute }, effects, killed: () => dead };
}

/** A gate a test opens when it wants: `wait()` blocks until `open()`. */
export class Gate {
  private release!: () => void;
  readonly opened = new Promise<void>((r) => (this.release = r));
  private reachedResolve!: () => void;
  /** Resolves when the first caller is waiting at the gate. */
  readonly reached = new Promise<void>((r) => (this.reachedResolve = r));
  wait(): Promise<void> {
    this.reachedResolve();
    return this.opened;
  }
  open(): void {
    this.release();
  }
}

/**
 * Deps whose store stops at the first call matching `at` until the gate opens (forces an
 * interleaving): before a put or delete is made, right after a get has read.
 */
export function pauseAt(
  deps: ProtocolDeps,
  at: (method: "get" | "put" | "delete", key: string, body?: string) => boolean,
  gate: Gate,
): ProtocolDeps {
  const s = deps.store;
  let paused = false;
  const maybe = async (method: "get" | "put" | "delete", key: string, body?: string): Promise<void> => {
    if (!paused && at(method, key, body)) {
      paused = true;
      await gate.wait();
    }
  };
  const store: ObjectStore = {
    ...s,
    get: async (b, k) => {
      const out = await s.get(b, k);
      await maybe("get", k, out?.body);
      return out;
    },
    put: async (b, k, body, o) => {
      await maybe("put", k, body);
      return s.put(b, k, body, o);
    },
    delete: async (b, k) => {
      await maybe("delete", k);
      return s.delete(b, k);
    },
    exists: (b, k) => s.exists(b, k),
    prefixExists: (b, p) => s.prefixExists(b, p),
    list: (b, p, l) => s.list(b, p, l),
    copy: (a, b, c2, d) => s.copy(a, b, c2, d),
  };
  return { ...deps, store };
}
