import { randomBytes, randomUUID } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import {
  CommandTargetNotReadyError,
  IAE_STOP_REASONS,
  IAE_TAGS,
  LaunchError,
  type CommandInfo,
  type CommandRequest,
  type ComputeBackend,
  type IaeDescription,
  type IaeLaunchRequest,
  type IaeState,
  type LaunchedIae,
  type RunningFilter,
} from "../protocols/compute";
import { ec2StateChangeEvent, spotInterruptionWarningEvent, type Ec2StateChangeEvent } from "./events";
import { IaeProcess, type IaeExit } from "./iae-process";
import {
  chooseIsolation,
  checkSandboxView,
  defaultSandboxView,
  DEFAULT_BWRAP,
  type IaeConfinement,
  type IaeIsolationMode,
} from "./iae-sandbox";
import { readProcStat } from "./procfs";
import { StateStore, type LocalCommandRecord, type LocalInstanceRecord } from "./state-store";
import { resolveWorkingDirectory } from "./working-directory";

export interface LocalComputeArgs {
  /** `{dataDir}/compute`: state file and one sandbox per IAE. */
  readonly directory: string;
  /** The data dir: nothing of it is visible to a sandboxed IAE except the IAE's own sandbox. */
  readonly dataDir: string;
  /** How IAEs are confined (default `auto`: a bubblewrap sandbox when it works here; see iae-sandbox.ts). */
  readonly isolation?: IaeIsolationMode;
  /** The bubblewrap binary (default `bwrap` on PATH). */
  readonly bwrap?: string;
  /** Uploads each command's output to its output prefix, as SSM does (nothing else: the monitor writes the job's files). */
  readonly client: S3Client;
  readonly region: string;
  /**
   * What every IAE process gets in its environment (AWS endpoint and credentials), or a function
   * giving each IAE its own; see iaeEnvironment for the rest.
   */
  readonly iaeEnv:
    | Readonly<Record<string, string>>
    | ((iae: {
        readonly instanceId: string;
        readonly tags: Readonly<Record<string, string>>;
      }) => Readonly<Record<string, string>>);
  /** Prepended to each IAE's PATH (holds `neurocaas`). */
  readonly pathPrefix: readonly string[];
  /** What `~/neurocaas` means on a local IAE. */
  readonly repoRoot: string;
  /** How many real seconds one `__duration__` minute lasts (60; tests use less). */
  readonly secondsPerMinute?: number;
  /** Where EC2-style state changes go (the monitor handler). */
  readonly onStateChange: (event: Ec2StateChangeEvent) => Promise<void>;
  /** Boot pending IAEs that no one released after this long. */
  readonly bootFallbackMs?: number;
  readonly killGraceMs?: number;
  /** At most this many IAEs running at once; more stay pending until one ends (default: no cap). */
  readonly maxRunning?: number;
  /** Keep each IAE's sandbox after it terminates (for debugging); default: removed, as EC2 removes the machine. */
  readonly keepSandboxes?: boolean;
  readonly log?: (line: string) => void;
  /** Where the warning about a fallback to process groups goes (default: stderr, even when there is no log). */
  readonly warn?: (line: string) => void;
}

const ACTIVE: readonly IaeState[] = ["pending", "running"];

const FORGET_TERMINATED_AFTER_MS = 60 * 60 * 1000;

function newInstanceId(): string {
  return `i-${randomBytes(9).toString("hex").slice(0, 17)}`;
}

/**
 * The ComputeBackend of `neurocaas local`: each IAE is a local bash process, in a bubblewrap
 * sandbox of its own where possible (see IaeProcess and iae-sandbox.ts).
 * Launch creates `pending` IAEs; they become `running` (and the monitor hears about it) when the
 * launching invocation releases them — after the job manager has finished writing the job's
 * records, as boot time guarantees on EC2 — or after `bootFallbackMs`. The monitor then delivers
 * the command with `sendCommand`. When the command exits the IAE shuts down (`shutting-down`,
 * then `terminated`). The `Timeout` tag (`__duration__` minutes) is enforced: the IAE is killed at
 * the limit. State persists in the data dir; IAEs that were active when the server stopped are
 * ended by `recover()` on the next start.
 *
 * Like EC2 and SSM it only reports: how a command ended (`commandStatus`: status, exit code,
 * stderr) and why an IAE ended (`describe`: IAE_STOP_REASONS), through the same state-change
 * events. The monitor writes the job's certificate, status files and end.txt from them.
 */
export class LocalCompute implements ComputeBackend {
  private readonly processes = new Map<string, IaeProcess>();
  private readonly finishing = new Set<Promise<void>>();
  private readonly bootQueue: string[] = [];
  private closing = false;

  private constructor(
    private readonly args: LocalComputeArgs,
    private readonly store: StateStore,
    private readonly confinement: IaeConfinement,
  ) {}

  /**
   * Open the state in `directory` and decide once how IAEs are confined; the operator hears which
   * (a fallback to process groups is a warning, on stderr by default).
   */
  static async open(args: LocalComputeArgs): Promise<LocalCompute> {
    const isolation = await chooseIsolation(args.isolation ?? "auto", args.bwrap ?? DEFAULT_BWRAP);
    let confinement: IaeConfinement = { kind: "process-group" };
    if (isolation.kind === "sandbox") {
      const view = defaultSandboxView({ dataDir: args.dataDir, repoRoot: args.repoRoot });
      checkSandboxView(view);
      confinement = { kind: "sandbox", bwrap: args.bwrap ?? DEFAULT_BWRAP, view };
      args.log?.(isolation.notice);
    } else {
      (args.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(isolation.notice);
    }
    const store = await StateStore.open(path.join(args.directory, "state.json"));
    const compute = new LocalCompute(args, store, confinement);
    compute.prune(Date.now());
    return compute;
  }

  /** Record when an IAE reached its final state, and forget long-gone ones. */
  private ended(r: LocalInstanceRecord): void {
    r.endedAt = new Date().toISOString();
    this.prune(Date.now());
  }

  /**
   * Like EC2, forget terminated IAEs an hour after they ended (describe no longer returns them),
   * so the state file does not grow with every job ever run.
   */
  prune(now: number, retentionMs = FORGET_TERMINATED_AFTER_MS): void {
    const gone = new Set<string>();
    for (const r of Object.values(this.state.instances)) {
      if (r.state === "terminated" && r.endedAt !== undefined && now - Date.parse(r.endedAt) > retentionMs)
        gone.add(r.instanceId);
    }
    if (gone.size === 0) return;
    for (const id of gone) delete this.state.instances[id];
    for (const [cid, c] of Object.entries(this.state.commands))
      if (gone.has(c.instanceId)) delete this.state.commands[cid];
    for (const [token, ids] of Object.entries(this.state.clientTokens))
      if (ids.every((id) => gone.has(id))) delete this.state.clientTokens[token];
  }

  private get state() {
    return this.store.state;
  }

  private log(line: string): void {
    this.args.log?.(line);
  }

  /** A view whose launches are collected so the caller can boot them once its invocation is done. */
  invocation(): { readonly compute: ComputeBackend; readonly release: () => Promise<void> } {
    const launched: string[] = [];
    const compute: ComputeBackend = {
      launch: async (request) => {
        const result = await this.launch(request, false);
        launched.push(...result.map((r) => r.instanceId));
        return result;
      },
      terminate: (ids) => this.terminate(ids),
      stop: (ids) => this.stop(ids),
      describe: (ids) => this.describe(ids),
      listRunning: (f) => this.listRunning(f),
      countRunning: (f) => this.countRunning(f),
      sendCommand: (r) => this.sendCommand(r),
      findCommand: (i, d) => this.findCommand(i, d),
      commandStatus: (i, c) => this.commandStatus(i, c),
      activeCommands: (i) => this.activeCommands(i),
    };
    return { compute, release: () => this.boot(launched) };
  }

  async launch(request: IaeLaunchRequest, scheduleBoot = true): Promise<readonly LaunchedIae[]> {
    if (this.closing) throw new Error("local NeuroCAAS is shutting down; no new IAEs");
    const known = this.state.clientTokens[request.clientToken];
    if (known) {
      return known
        .map((id) => this.state.instances[id])
        .filter(Boolean)
        .map((r) => ({ instanceId: r.instanceId, instanceType: r.instanceType, spot: r.spot }));
    }
    if (request.instanceTags !== undefined && request.instanceTags.length !== request.count) {
      throw new LaunchError(
        "invalid-request",
        `instanceTags has ${request.instanceTags.length} entries for ${request.count} instances`,
      );
    }
    const ids: string[] = [];
    for (let i = 0; i < request.count; i++) {
      const instanceId = newInstanceId();
      ids.push(instanceId);
      this.state.instances[instanceId] = {
        instanceId,
        state: "pending",
        imageId: request.imageId,
        instanceType: request.instanceType,
        // Local processes have no spot market; report on-demand like the fallback path does.
        spot: false,
        launchTime: new Date().toISOString(),
        tags: { ...request.tags, ...request.instanceTags?.[i] },
        sandbox: path.join(this.args.directory, "iae", instanceId),
        launchToken: request.clientToken,
        launchIndex: i,
      };
    }
    this.state.clientTokens[request.clientToken] = ids;
    await this.store.save();
    const fallback = setTimeout(() => void this.boot(ids), this.args.bootFallbackMs ?? (scheduleBoot ? 0 : 10_000));
    fallback.unref();
    return ids.map((instanceId) => ({ instanceId, instanceType: request.instanceType, spot: false }));
  }

  /**
   * pending → running, reported to the monitor (which then delivers the command). With
   * `maxRunning`, IAEs beyond the cap stay pending in a queue until a running one ends, as if the
   * machine had that much capacity.
   */
  async boot(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (this.state.instances[id]?.state === "pending" && !this.bootQueue.includes(id)) this.bootQueue.push(id);
    }
    await this.drainBootQueue();
  }

  private runningCount(): number {
    return Object.values(this.state.instances).filter((r) => r.state === "running").length;
  }

  private async drainBootQueue(): Promise<void> {
    const max = this.args.maxRunning ?? Infinity;
    const started: string[] = [];
    while (this.bootQueue.length > 0 && !this.closing && this.runningCount() < max) {
      const r = this.state.instances[this.bootQueue.shift()!];
      if (!r || r.state !== "pending") continue;
      r.state = "running";
      started.push(r.instanceId);
    }
    if (started.length === 0) return;
    await this.store.save();
    await Promise.all(started.map((id) => this.emit(id, "running")));
  }

  /** A running IAE ended: let a queued one boot (tracked so `settle()` waits for it). */
  private freeSlot(): void {
    if (this.bootQueue.length === 0) return;
    const next = this.drainBootQueue().catch((err: unknown) =>
      this.log(`booting queued IAEs failed: ${(err as Error).message}`),
    );
    this.finishing.add(next);
    void next.finally(() => this.finishing.delete(next));
  }

  private async emit(instanceId: string, state: IaeState): Promise<void> {
    try {
      await this.args.onStateChange(ec2StateChangeEvent(this.args.region, instanceId, state));
    } catch (err) {
      this.log(`monitor failed on ${instanceId} ${state}: ${(err as Error).message}`);
    }
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    await Promise.all(instanceIds.map((id) => this.shutDown(id, "terminated")));
  }

  async stop(instanceIds: readonly string[]): Promise<void> {
    await Promise.all(instanceIds.map((id) => this.shutDown(id, "stopped")));
  }

  private async shutDown(id: string, final: "terminated" | "stopped"): Promise<void> {
    const r = this.state.instances[id];
    if (!r || !ACTIVE.includes(r.state)) return;
    const proc = this.processes.get(id);
    if (proc) {
      // The exit path reports the state changes.
      r.requestedFinal = final;
      await proc.stop();
      await this.settle();
      return;
    }
    await this.end(r, final);
  }

  private describeRecord(r: LocalInstanceRecord): IaeDescription {
    return {
      instanceId: r.instanceId,
      state: r.state,
      instanceType: r.instanceType,
      imageId: r.imageId,
      launchTime: new Date(r.launchTime),
      spot: r.spot,
      tags: r.tags,
      ...(r.launchToken !== undefined ? { launchToken: r.launchToken } : {}),
      ...(r.launchIndex !== undefined ? { launchIndex: r.launchIndex } : {}),
      ...(r.stateReason !== undefined ? { stateReason: r.stateReason } : {}),
      ...(r.stateMessage !== undefined ? { stateMessage: r.stateMessage } : {}),
    };
  }

  async describe(instanceIds: readonly string[]): Promise<readonly IaeDescription[]> {
    return instanceIds
      .map((id) => this.state.instances[id])
      .filter((r): r is LocalInstanceRecord => r !== undefined)
      .map((r) => this.describeRecord(r));
  }

  async listRunning(filter: RunningFilter): Promise<readonly IaeDescription[]> {
    return Object.values(this.state.instances)
      .filter((r) => ACTIVE.includes(r.state))
      .filter(
        (r) =>
          (filter.instanceType === undefined || r.instanceType === filter.instanceType) &&
          (filter.imageId === undefined || r.imageId === filter.imageId) &&
          (filter.tagKey === undefined || filter.tagKey in r.tags),
      )
      .filter((r) => Object.entries(filter.tags ?? {}).every(([k, v]) => r.tags[k] === v))
      .map((r) => this.describeRecord(r));
  }

  async countRunning(filter: RunningFilter): Promise<number> {
    return (await this.listRunning(filter)).length;
  }

  async sendCommand(request: CommandRequest): Promise<CommandInfo> {
    const r = this.state.instances[request.instanceId];
    if (!r) throw new Error(`InvalidInstanceId: no local IAE ${request.instanceId}`);
    if (r.state === "pending") throw new CommandTargetNotReadyError(`local IAE ${request.instanceId} is still booting`);
    if (r.state !== "running" || this.closing)
      throw new Error(`InvalidInstanceId: local IAE ${request.instanceId} is ${r.state}`);
    if (this.processes.has(request.instanceId))
      throw new Error(`local IAE ${request.instanceId} is already running a command`);

    const commandId = randomUUID();
    const timeoutMinutes = Number(r.tags[IAE_TAGS.timeout]);
    const durationMs =
      Number.isFinite(timeoutMinutes) && timeoutMinutes > 0
        ? timeoutMinutes * (this.args.secondsPerMinute ?? 60) * 1000
        : undefined;
    const executionMs = request.executionTimeoutSeconds > 0 ? request.executionTimeoutSeconds * 1000 : undefined;
    const limitMs =
      durationMs === undefined
        ? executionMs
        : executionMs === undefined
          ? durationMs
          : Math.min(durationMs, executionMs);
    const limitIsDuration = durationMs !== undefined && limitMs === durationMs;

    const proc = await IaeProcess.start({
      command: request.commands.join("\n"),
      sandbox: r.sandbox,
      outputDir: this.outputDir(r.instanceId),
      cwd: resolveWorkingDirectory({
        workingDirectory: request.workingDirectory,
        home: r.sandbox,
        repoRoot: this.args.repoRoot,
      }),
      env: typeof this.args.iaeEnv === "function" ? this.args.iaeEnv(r) : this.args.iaeEnv,
      pathPrefix: this.args.pathPrefix,
      confinement: this.confinement,
      timeLimitMs: limitMs,
      killGraceMs: this.args.killGraceMs,
    });
    this.processes.set(request.instanceId, proc);
    r.pid = proc.pid;
    r.pidStartTicks = proc.pid === undefined ? undefined : readProcStat(proc.pid)?.startTicks;
    this.state.commands[commandId] = {
      commandId,
      instanceId: request.instanceId,
      status: "InProgress",
      ...(request.deliveryId !== undefined ? { deliveryId: request.deliveryId } : {}),
    };
    await this.store.save();
    this.log(
      `${request.instanceId}: running command ${commandId} (limit ${limitMs === undefined ? "none" : `${limitMs / 1000} s`})`,
    );

    const finished = proc.exited
      .then((exit) => this.onExit(r, commandId, exit, limitIsDuration, timeoutMinutes, request))
      .catch((err: unknown) =>
        this.log(`${request.instanceId}: shutdown bookkeeping failed: ${(err as Error).message}`),
      );
    this.finishing.add(finished);
    void finished.finally(() => this.finishing.delete(finished));
    return { commandId, status: "InProgress" };
  }

  private async onExit(
    r: LocalInstanceRecord,
    commandId: string,
    exit: IaeExit,
    limitIsDuration: boolean,
    timeoutMinutes: number,
    request: CommandRequest,
  ): Promise<void> {
    this.processes.delete(r.instanceId);
    const command = this.state.commands[commandId];
    command.status = exit.stopped
      ? "Cancelled"
      : exit.timedOut
        ? limitIsDuration
          ? "Failed"
          : "TimedOut"
        : exit.code === 0
          ? "Success"
          : "Failed";
    if (exit.code !== null && !exit.timedOut && !exit.stopped) command.exitCode = exit.code;
    if (exit.timedOut)
      command.details = limitIsDuration
        ? `killed at the __duration__ of ${timeoutMinutes} minute(s)`
        : `the command exceeded SSM_TIMEOUT (${request.executionTimeoutSeconds} s)`;
    else if (exit.signal) command.details = `killed by ${exit.signal}`;
    if (command.status !== "Success") {
      const stderr = await this.stderrTail(exit.stderrPath);
      if (stderr !== "") command.stderr = stderr;
    }
    this.log(`${r.instanceId}: command ${commandId} ${command.status} (exit ${exit.code ?? exit.signal})`);
    await this.uploadOutput(request, commandId, exit).catch((err: unknown) =>
      this.log(`${r.instanceId}: could not upload command output: ${(err as Error).message}`),
    );
    if (this.closing && exit.stopped) {
      // Server shutdown: the IAE stays "running" in the persisted state; recover() reports it.
      await this.store.save();
      return;
    }
    if (exit.timedOut && limitIsDuration) {
      // As the account guard stops an IAE past its Timeout on EC2: the platform ended it.
      r.stateReason = IAE_STOP_REASONS.timeLimit;
      r.stateMessage = `it exceeded its __duration__ of ${timeoutMinutes} minute(s)`;
    }
    await this.end(r, r.requestedFinal === "stopped" ? "stopped" : "terminated");
    await this.removeSandbox(r);
  }

  /** running → shutting-down/stopping → terminated/stopped, each state change reported to the monitor. */
  private async end(r: LocalInstanceRecord, final: "terminated" | "stopped"): Promise<void> {
    const wasRunning = r.state === "running";
    r.state = final === "stopped" ? "stopping" : "shutting-down";
    await this.store.save();
    if (wasRunning) this.freeSlot();
    await this.emit(r.instanceId, r.state);
    r.state = final;
    this.ended(r);
    await this.store.save();
    await this.emit(r.instanceId, final);
  }

  /** Where an IAE's command output is captured (beside, not in, its sandbox). */
  private outputDir(instanceId: string): string {
    return path.join(this.args.directory, "output", instanceId);
  }

  /** A terminated IAE's disk is gone on EC2; locally its sandbox (downloaded inputs, HOME) and captured output go too. */
  private async removeSandbox(r: LocalInstanceRecord): Promise<void> {
    if (this.args.keepSandboxes || r.state !== "terminated") return;
    for (const dir of [r.sandbox, this.outputDir(r.instanceId)]) {
      await fsp
        .rm(dir, { recursive: true, force: true })
        .catch((err: unknown) => this.log(`${r.instanceId}: could not remove ${dir}: ${(err as Error).message}`));
    }
  }

  /** The end of a command's stderr: at most its last 50 lines and 8,000 characters (what SSM reports). */
  private async stderrTail(file: string): Promise<string> {
    const text = await fsp.readFile(file, "utf8").catch(() => "");
    const lines = text
      .split("\n")
      .filter((l) => l !== "")
      .slice(-50)
      .join("\n");
    return lines.slice(-8000);
  }

  /** SSM's layout: `{prefix}/{commandId}/{instanceId}/awsrunShellScript/0.awsrunShellScript/{stdout,stderr}`. */
  private async uploadOutput(request: CommandRequest, commandId: string, exit: IaeExit): Promise<void> {
    const base = `${request.outputPrefix.replace(/\/+$/, "")}/${commandId}/${request.instanceId}/awsrunShellScript/0.awsrunShellScript`;
    for (const [name, file] of [
      ["stdout", exit.stdoutPath],
      ["stderr", exit.stderrPath],
    ] as const) {
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st || st.size === 0) continue;
      await new Upload({
        client: this.args.client,
        params: { Bucket: request.outputBucket, Key: `${base}/${name}`, Body: createReadStream(file) },
      }).done();
    }
  }

  async findCommand(instanceId: string, deliveryId: string): Promise<CommandInfo | undefined> {
    const c = Object.values(this.state.commands).find(
      (x) => x.instanceId === instanceId && x.deliveryId === deliveryId,
    );
    return c ? commandInfo(c) : undefined;
  }

  async commandStatus(instanceId: string, commandId: string): Promise<CommandInfo> {
    const c = this.state.commands[commandId];
    if (!c || c.instanceId !== instanceId)
      throw new Error(`InvocationDoesNotExist: no command ${commandId} on ${instanceId}`);
    return commandInfo(c);
  }

  async activeCommands(instanceId: string): Promise<readonly CommandInfo[]> {
    return Object.values(this.state.commands)
      .filter((c) => c.instanceId === instanceId && (c.status === "Pending" || c.status === "InProgress"))
      .map((c) => ({ commandId: c.commandId, status: c.status }));
  }

  /**
   * Test hook (issue 17): AWS reclaims this IAE as if it ran on spot capacity — the two-minute
   * warning reaches the monitor, then the IAE's processes are killed and it ends with EC2's reason
   * `Server.SpotInstanceTermination`. Local IAEs otherwise never run on spot.
   */
  async interruptSpot(instanceId: string): Promise<void> {
    const r = this.state.instances[instanceId];
    if (!r || !ACTIVE.includes(r.state)) throw new Error(`no active local IAE ${instanceId} to interrupt`);
    r.spot = true;
    r.stateReason = "Server.SpotInstanceTermination";
    r.stateMessage = "Server.SpotInstanceTermination: Spot instance termination (injected in local mode)";
    await this.store.save();
    // The monitor takes both EventBridge shapes (protocols/monitor.ts); the local type names one.
    await this.args.onStateChange(
      spotInterruptionWarningEvent(this.args.region, instanceId) as unknown as Ec2StateChangeEvent,
    );
    await this.shutDown(instanceId, "terminated");
  }

  /** Wait until every exited IAE has finished its shutdown bookkeeping. */
  async settle(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  /**
   * End IAEs that were active when the previous server stopped (or crashed): kill what is left of
   * their processes and report them to the monitor as ended because their host stopped, which
   * marks their datasets interrupted and writes each job's end.txt once none of its IAEs is left.
   */
  async recover(): Promise<readonly string[]> {
    const stale = Object.values(this.state.instances).filter((r) => ACTIVE.includes(r.state));
    for (const r of stale) {
      if (r.pid !== undefined && r.pidStartTicks !== undefined && readProcStat(r.pid)?.startTicks === r.pidStartTicks) {
        try {
          process.kill(-r.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      for (const c of Object.values(this.state.commands))
        if (c.instanceId === r.instanceId && (c.status === "InProgress" || c.status === "Pending"))
          c.status = "Cancelled";
      this.log(`${r.instanceId}: interrupted by the previous shutdown`);
      r.stateReason = IAE_STOP_REASONS.hostStopped;
      r.stateMessage = `the local NeuroCAAS server stopped while it was ${r.state}`;
      await this.end(r, "terminated");
      await this.removeSandbox(r);
    }
    return stale.map((r) => r.instanceId);
  }

  /** Stop every IAE process (server shutdown). Their state stays active on disk for `recover()`. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
    await this.settle();
    await this.store.save();
  }
}

function commandInfo(c: LocalCommandRecord): CommandInfo {
  return {
    commandId: c.commandId,
    status: c.status,
    ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    ...(c.details !== undefined ? { details: c.details } : {}),
    ...(c.stderr !== undefined ? { stderr: c.stderr } : {}),
  };
}
