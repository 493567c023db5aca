import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { CommandStatus, IaeState } from "../protocols/compute";

/** One local IAE as persisted in the data dir (survives restarts of `neurocaas local`). */
export interface LocalInstanceRecord {
  readonly instanceId: string;
  state: IaeState;
  readonly imageId: string;
  readonly instanceType: string;
  /** Spot capacity (local IAEs run on demand; a test may mark one reclaimed as if it were spot: LocalCompute.interruptSpot). */
  spot: boolean;
  readonly launchTime: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly sandbox: string;
  /** Process group of the running command, with its start time to recognise PID reuse. */
  pid?: number;
  pidStartTicks?: string;
  /** When the IAE reached its final state (ISO time). */
  endedAt?: string;
  /** A stop (not terminate) was asked for while the command ran. */
  requestedFinal?: "terminated" | "stopped";
  /** The launch request's client token and this IAE's position in it. */
  launchToken?: string;
  launchIndex?: number;
  /** Why the platform ended it (IAE_STOP_REASONS), reported to the monitor through `describe`. */
  stateReason?: string;
  stateMessage?: string;
}

export interface LocalCommandRecord {
  readonly commandId: string;
  readonly instanceId: string;
  status: CommandStatus;
  /** The delivery claim it was sent under (`CommandRequest.deliveryId`). */
  readonly deliveryId?: string;
  /** How it ended (see CommandInfo). */
  exitCode?: number;
  details?: string;
  stderr?: string;
}

export interface LocalComputeState {
  instances: Record<string, LocalInstanceRecord>;
  commands: Record<string, LocalCommandRecord>;
  /** Launch idempotency: client token → instance ids. */
  clientTokens: Record<string, string[]>;
}

function emptyState(): LocalComputeState {
  return { instances: {}, commands: {}, clientTokens: {} };
}

/**
 * The local compute state, kept in memory and written through to one JSON file. Writes are
 * serialized and atomic (temp file + rename), so a crash leaves the previous or the new state.
 */
export class StateStore {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly file: string,
    readonly state: LocalComputeState,
  ) {}

  static async open(file: string): Promise<StateStore> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    let state = emptyState();
    try {
      const parsed = JSON.parse(await fsp.readFile(file, "utf8")) as Partial<LocalComputeState>;
      state = {
        instances: parsed.instances ?? {},
        commands: parsed.commands ?? {},
        clientTokens: parsed.clientTokens ?? {},
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new Error(
          `cannot read local compute state ${file}: ${(err as Error).message}; move it away to start fresh`,
          { cause: err },
        );
      }
    }
    return new StateStore(file, state);
  }

  /** Persist the current state (coalesces concurrent calls). */
  save(): Promise<void> {
    if (this.dirty) return this.writing;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      this.dirty = false;
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(this.state, null, 2));
      await fsp.rename(tmp, this.file);
    });
    return this.writing;
  }
}
