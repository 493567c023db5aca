import { randomUUID } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../protocols/aws/s3-store";
import type { Clock, PriceSource, ProtocolDeps, ProtocolLimits } from "../protocols/deps";
import type { Invocation } from "../protocols/lease";
import { groupFolderKeys } from "../model/layout";
import type { AnalysisRuntimeConfig } from "../model/runtime-config";
import type { ComputeBackend } from "../protocols/compute";
import { IAE_TAGS } from "../protocols/compute";
import { refreshSpendSummaryQuietly } from "../protocols/spend-summary-writer";
import { LocalCompute } from "./compute";
import { DASHBOARD_PATH, dashboardSite } from "./dashboard-site";
import type { IaeIsolationMode } from "./iae-sandbox";
import { routeLocalS3Event, type Ec2StateChangeEvent } from "./events";
import { EventJournal, type JournalEntry } from "./event-journal";
import type { LocalHandlers } from "./handlers";
import { LocalKeys, type Credentials } from "./keys";
import { loadAnalysisIdentities, userMemberships, type AnalysisIdentities } from "./principals";
import { createLocalS3Client, startLocalS3Server, type LocalS3Event, type LocalS3Server } from "./s3-server";
import { LocalBudgetSource, LocalPriceSource } from "./sources";
import { analysisNamed, loadLocalAnalyses } from "./stack";

export interface StartLocalArgs {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 4566; 0 picks a free one). */
  readonly port?: number;
  /** Persistent state: `s3/` (buckets), `compute/` (IAE state and sandboxes), budgets.json, prices.json. */
  readonly dataDir: string;
  readonly stackFiles: readonly string[];
  /** This checkout: `~/neurocaas` on local IAEs, and where `bin/neurocaas` lives. */
  readonly repoRoot: string;
  readonly handlers: LocalHandlers;
  /** Hourly price when prices.json has none for an instance type. */
  readonly fallbackPrice: (instanceType: string, region: string) => Promise<number>;
  /** Real seconds per `__duration__` minute (default 60). */
  readonly secondsPerMinute?: number;
  /** Keep IAE sandboxes after termination (debugging). */
  readonly keepSandboxes?: boolean;
  /** At most this many IAE processes at once; later ones stay pending (default: no cap). */
  readonly maxRunningIaes?: number;
  /** How IAEs are confined (default `auto`; see local/iae-sandbox.ts). */
  readonly iaeIsolation?: IaeIsolationMode;
  readonly limits?: Partial<ProtocolLimits>;
  readonly log?: (line: string) => void;
  /** The admin key (default: the one kept in the data dir, generated on first start). */
  readonly adminCredentials?: Credentials;
  /** Browser origins allowed to call the endpoint besides its own. */
  readonly allowedOrigins?: readonly string[];
}

export interface LocalNeurocaas {
  /** `http://host:port` of the S3-compatible endpoint. */
  readonly endpoint: string;
  /** The admin key (full access; printed on the ready line). */
  readonly credentials: Credentials;
  /** The web dashboard, served by the endpoint itself: `{endpoint}/_dashboard/`. */
  readonly dashboardUrl: string;
  /** Every key of this server: `keys.user(name)`, `keys.issueIae(bucket, instanceId)`, ... */
  readonly keys: LocalKeys;
  /** Where the users' keys are (AWS shared-credentials file). */
  readonly credentialsFile: string;
  readonly buckets: readonly string[];
  readonly dataDir: string;
  /** IAEs reported as interrupted at start (left running by the previous server). */
  readonly recovered: readonly string[];
  /** The platform's client (full access), as the job manager and monitor use it. */
  readonly client: S3Client;
  /** Wait until no handler invocation is in flight and every exited IAE is accounted for. */
  settle(): Promise<void>;
  /** Test hook: AWS reclaims a running IAE as if it were a spot instance (warning, then termination). */
  interruptSpot(instanceId: string): Promise<void>;
  /** Stop IAEs, finish in-flight handlers (bounded), close the endpoint. Safe to call twice. */
  close(): Promise<void>;
}

/** A local handler has no function timeout; its claims end with the server run (or after a day). */
const LOCAL_LEASE_MS = 24 * 3600_000;

/**
 * The one-line readiness message (`neurocaas local` prints it; scripts wait for "ready" and parse
 * `endpoint URL access-key KEY secret-key SECRET`): the admin key, then where the users' keys are.
 */
export function readyLine(
  local: Pick<LocalNeurocaas, "endpoint" | "credentials" | "buckets" | "dataDir" | "credentialsFile" | "dashboardUrl">,
): string {
  return (
    `neurocaas local ready: endpoint ${local.endpoint} access-key ${local.credentials.accessKeyId} secret-key ${local.credentials.secretAccessKey} (admin) ` +
    `buckets ${local.buckets.join(",")} data-dir ${local.dataDir} user-keys ${local.credentialsFile} dashboard ${local.dashboardUrl}`
  );
}

/** What a script reads from the ready line: where the endpoint is and the admin key. */
export interface ReadyLineInfo {
  readonly endpoint: string;
  readonly credentials: Credentials;
  /** The users' keys file (absent in ready lines of older versions). */
  readonly credentialsFile?: string;
  /** The web dashboard's URL (absent in ready lines of older versions). */
  readonly dashboardUrl?: string;
}

/** Parse `readyLine`'s output; undefined for any other line. */
export function parseReadyLine(line: string): ReadyLineInfo | undefined {
  const m = /^neurocaas local ready: endpoint (\S+) access-key (\S+) secret-key (\S+)/.exec(line);
  if (!m) return undefined;
  const file = / user-keys (\S+)/.exec(line)?.[1];
  const dashboard = / dashboard (\S+)/.exec(line)?.[1];
  return {
    endpoint: m[1],
    credentials: { accessKeyId: m[2], secretAccessKey: m[3] },
    ...(file !== undefined ? { credentialsFile: file } : {}),
    ...(dashboard !== undefined ? { dashboardUrl: dashboard } : {}),
  };
}

/** Which groups each user key (and the admin key: all) may use, for the dashboard's sign-in. */
function keyMemberships(
  keys: LocalKeys,
  identities: readonly AnalysisIdentities[],
): Map<string, "all" | { bucket: string; group: string }[]> {
  const out = new Map<string, "all" | { bucket: string; group: string }[]>([[keys.admin.accessKeyId, "all"]]);
  for (const [user, list] of userMemberships(identities)) {
    const key = keys.user(user);
    if (key)
      out.set(
        key.accessKeyId,
        list.map((m) => ({ bucket: m.bucket, group: m.group })),
      );
  }
  return out;
}

/** A sleep that ends early (rejecting) when the server shuts down, so no handler outlives it. */
class ShutdownClock implements Clock {
  private readonly waiters = new Set<() => void>();
  private closed = false;

  now(): Date {
    return new Date();
  }

  sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new Error("local NeuroCAAS is shutting down"));
      const cancel = () => {
        clearTimeout(timer);
        reject(new Error("local NeuroCAAS is shutting down"));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(cancel);
        resolve();
      }, ms);
      this.waiters.add(cancel);
    });

  shutdown(): void {
    this.closed = true;
    for (const cancel of this.waiters) cancel();
    this.waiters.clear();
  }
}

async function ensureFolders(client: S3Client, bucket: string, groups: readonly string[]): Promise<void> {
  const store = new S3ObjectStore(client);
  for (const group of groups) {
    for (const key of groupFolderKeys(group)) {
      // Placeholders are created once and never overwritten (user data survives restarts).
      if (await store.exists(bucket, key)) continue;
      await client
        .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), IfNoneMatch: "*" }))
        .catch((err: unknown) => {
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) throw err;
        });
    }
  }
}

/**
 * Start local NeuroCAAS: an S3-compatible endpoint holding each analysis bucket, S3 notifications
 * routed to the job manager / post-processing handlers, EC2-style state changes of local IAEs
 * routed to the monitor.
 */
export async function startLocal(args: StartLocalArgs): Promise<LocalNeurocaas> {
  const log = args.log ?? (() => undefined);
  const configs = loadLocalAnalyses(args.stackFiles);
  const dataDir = path.resolve(args.dataDir);
  await fsp.mkdir(dataDir, { recursive: true });
  const identities = loadAnalysisIdentities(args.stackFiles);
  const keys = await LocalKeys.open({ dataDir, analyses: identities, admin: args.adminCredentials });
  const clock = new ShutdownClock();
  const inFlight = new Set<Promise<void>>();
  let accepting = false;
  let compute: LocalCompute | undefined;
  let journal: EventJournal | undefined;
  let client: S3Client | undefined;
  const pendingEvents: LocalS3Event[] = [];

  // Claims (job records, command deliveries) are leased to this server run: after a restart,
  // those of the previous run are provably abandoned and taken over at once.
  const runId = randomUUID();
  const invocation = (): Invocation => ({
    id: `local:${runId}:${randomUUID()}`,
    deadline: new Date(Date.now() + LOCAL_LEASE_MS),
    holderGone: (holder) => holder.startsWith("local:") && !holder.startsWith(`local:${runId}:`),
  });
  const budgets = new LocalBudgetSource(path.join(dataDir, "budgets.json"));
  const prices: PriceSource = new LocalPriceSource(path.join(dataDir, "prices.json"), args.fallbackPrice);
  const depsFor = (config: AnalysisRuntimeConfig, backend: ComputeBackend): ProtocolDeps => ({
    config,
    store: new S3ObjectStore(client!),
    compute: backend,
    budgets,
    prices,
    clock,
    limits: args.limits,
    invocation: invocation(),
    log: (m) => log(`[${config.bucketName}] ${m}`),
  });

  /**
   * Like Lambda for asynchronous invocations: a handler that fails runs twice more (here after 1
   * and 2 seconds rather than minutes) as the same invocation, so that it takes over its own claims.
   */
  const asLambdaRetries = async <T>(run: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (attempt >= 3 || !accepting) throw err;
        log(`handler attempt ${attempt} failed (${(err as Error).message}); retrying`);
        await clock.sleep(attempt * 1000);
      }
    }
  };

  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const dispatchS3 = async (entry: JournalEntry): Promise<void> => {
    const config = configs.get(entry.bucket);
    const key = entry.event.Records[0].s3.object.key;
    if (!config) {
      log(
        `dropping a journaled ${entry.route} event for s3://${entry.bucket}/${key}: the analysis is no longer served`,
      );
      await journal!.remove(entry.id);
      return;
    }
    try {
      if (entry.route === "submit") {
        const view = compute!.invocation();
        const deps = depsFor(config, view.compute);
        let code: number;
        try {
          code = await asLambdaRetries(() => args.handlers.submit(entry.event, deps));
        } finally {
          // IAEs the job manager launched (and did not roll back) boot once it is done.
          await view.release();
        }
        log(`job manager: s3://${entry.bucket}/${key} → ${code === 0 ? "job started" : `rejected (${code})`}`);
      } else {
        const deps = depsFor(config, compute!);
        await asLambdaRetries(() => args.handlers.postProcess(entry.event, deps));
        log(`post-processing: s3://${entry.bucket}/${key} handled`);
      }
    } catch (err) {
      log(`${entry.route} handler failed for s3://${entry.bucket}/${key}: ${(err as Error).stack ?? String(err)}`);
      // Cut short by the shutdown: keep the event so the next start handles it.
      if (!accepting) return;
    }
    await journal!.remove(entry.id);
  };

  const onS3Event = (event: LocalS3Event): void => {
    if (!accepting) {
      pendingEvents.push(event);
      return;
    }
    for (const routed of routeLocalS3Event(configs, event)) track(journal!.add(routed).then(dispatchS3));
  };

  const onStateChange = async (event: Ec2StateChangeEvent): Promise<void> => {
    const id = event.detail["instance-id"];
    // The IAE's processes are gone: its credentials stop working.
    if (event.detail.state === "shutting-down" || event.detail.state === "terminated") keys.revokeIae(id);
    const [desc] = await compute!.describe([id]);
    const config = desc ? analysisNamed(configs, desc.tags[IAE_TAGS.analysis]) : undefined;
    if (!config) {
      log(`monitor: ${id} ${event.detail.state} belongs to no local analysis; ignored`);
      return;
    }
    const deps = depsFor(config, compute!);
    const run = asLambdaRetries(() => args.handlers.monitor(event, deps)).then(
      () => log(`monitor: ${id} ${event.detail.state ?? event["detail-type"]}`),
      (err: unknown) =>
        log(
          `monitor failed for ${id} ${event.detail.state ?? event["detail-type"]}: ${(err as Error).stack ?? String(err)}`,
        ),
    );
    track(run);
    await run;
  };

  let s3: LocalS3Server | undefined;
  const endpointOf = (): string => s3?.endpoint ?? "";
  try {
    s3 = await startLocalS3Server({
      directory: path.join(dataDir, "s3"),
      buckets: [...configs.keys()],
      port: args.port ?? 4566,
      host: args.host,
      credentials: keys.admin,
      keys: keys.ring,
      regionOf: (bucket) => configs.get(bucket)?.region,
      allowedOrigins: args.allowedOrigins,
      onEvent: onS3Event,
      site: dashboardSite(
        {
          analyses: configs,
          prices,
          credentialsFile: keys.credentialsFile,
          keyMemberships: () => keyMemberships(keys, identities),
          log,
        },
        () => endpointOf(),
      ),
    });
    const region = [...configs.values()][0]?.region ?? "us-east-1";
    const endpoint = s3.endpoint;
    // The job manager, monitor and local compute act with the platform's key.
    client = createLocalS3Client({ endpoint: s3.endpoint, credentials: keys.platform }, region);
    for (const config of configs.values())
      await ensureFolders(
        client,
        config.bucketName,
        config.affiliates.map((a) => a.AffiliateName),
      );
    compute = await LocalCompute.open({
      directory: path.join(dataDir, "compute"),
      dataDir,
      isolation: args.iaeIsolation,
      client,
      region,
      // Each IAE signs with its own key, scoped like the cloud IAE role of its analysis (iaePolicy).
      iaeEnv: (iae) => {
        const analysis = analysisNamed(configs, iae.tags[IAE_TAGS.analysis]);
        if (!analysis)
          throw new Error(
            `IAE ${iae.instanceId} is tagged for analysis "${iae.tags[IAE_TAGS.analysis]}", which no stack file serves`,
          );
        const iaeRegion = analysis.region;
        const own = keys.issueIae(analysis.bucketName, iae.instanceId);
        return {
          AWS_ENDPOINT_URL: endpoint,
          AWS_ACCESS_KEY_ID: own.accessKeyId,
          AWS_SECRET_ACCESS_KEY: own.secretAccessKey,
          AWS_REGION: iaeRegion,
          AWS_DEFAULT_REGION: iaeRegion,
          AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
          AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
        };
      },
      pathPrefix: [path.join(args.repoRoot, "bin")],
      repoRoot: args.repoRoot,
      secondsPerMinute: args.secondsPerMinute,
      keepSandboxes: args.keepSandboxes,
      maxRunning: args.maxRunningIaes,
      onStateChange,
      log,
    });
    // Each group's spend summary (what its users see in the dashboard), from the current budgets.
    for (const config of configs.values()) {
      for (const a of config.affiliates) await refreshSpendSummaryQuietly(depsFor(config, compute), a.AffiliateName);
    }
    journal = await EventJournal.open(path.join(dataDir, "events.json"));
    accepting = true;
    const recovered = await compute.recover();
    // Notifications whose handler had not finished when the previous server stopped.
    for (const entry of journal.pending()) {
      log(
        `replaying the ${entry.route} event for s3://${entry.bucket}/${entry.event.Records[0].s3.object.key} left by the previous run`,
      );
      track(dispatchS3(entry));
    }
    // Group folder placeholders and anything uploaded before we were ready.
    for (const e of pendingEvents.splice(0)) onS3Event(e);

    const settle = async (): Promise<void> => {
      for (;;) {
        await compute!.settle();
        if (inFlight.size === 0) return;
        await Promise.allSettled([...inFlight]);
      }
    };
    let closing: Promise<void> | undefined;
    const server = s3;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        accepting = false;
        await compute!.close();
        clock.shutdown();
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 10_000).unref())]);
        await compute!.close();
        await server.close();
        client!.destroy();
      })());
    return {
      endpoint: s3.endpoint,
      dashboardUrl: `${s3.endpoint}${DASHBOARD_PATH}`,
      credentials: keys.admin,
      keys,
      credentialsFile: keys.credentialsFile,
      buckets: [...configs.keys()],
      dataDir,
      recovered,
      client,
      settle,
      interruptSpot: (id) => compute!.interruptSpot(id),
      close,
    };
  } catch (err) {
    await compute?.close().catch(() => undefined);
    await s3?.close().catch(() => undefined);
    throw err;
  }
}
