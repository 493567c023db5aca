import { IAE_TAGS, type IaeDescription } from "./compute";
import { timeoutMinutes } from "./budget";
import type { GuardDeps } from "./deps";

export interface GuardDecision {
  readonly instanceId: string;
  readonly action: "kept" | "stopped" | "terminated";
  readonly reason: string;
}

/**
 * Account guard (SPEC §7): instances past their `Timeout` tag (minutes since launch) that run no
 * command, or are idle (when the backend can tell), are stopped, or terminated when they are spot (spot capacity cannot be stopped and
 * kept); instances listed in `exempt_instances` are kept. Instances without `PriceTracking=On` and a
 * Timeout tag are not managed by NeuroCAAS and are left alone.
 */
async function sweepAccount(deps: GuardDeps): Promise<readonly GuardDecision[]> {
  const exempt = new Set(await deps.exemptions.exemptInstances());
  // NeuroCAAS instances (IAEs and development instances) carry PriceTracking=On and a Timeout.
  const candidates = (await deps.compute.listRunning({ tagKey: IAE_TAGS.timeout })).filter(
    (i) => i.state === "running" && i.tags[IAE_TAGS.priceTracking] === "On",
  );
  const now = deps.clock.now().getTime();
  const decisions: GuardDecision[] = [];
  for (const iae of candidates) {
    decisions.push(await decide(iae, now, exempt, deps));
  }
  const stop = decisions.filter((d) => d.action === "stopped").map((d) => d.instanceId);
  const terminate = decisions.filter((d) => d.action === "terminated").map((d) => d.instanceId);
  if (stop.length > 0) await deps.compute.stop(stop);
  if (terminate.length > 0) await deps.compute.terminate(terminate);
  for (const d of decisions) if (d.action !== "kept") deps.log?.(`guard: ${d.action} ${d.instanceId}: ${d.reason}`);
  return decisions;
}

async function decide(
  iae: IaeDescription,
  now: number,
  exempt: ReadonlySet<string>,
  deps: GuardDeps,
): Promise<GuardDecision> {
  const minutes = timeoutMinutes(iae.tags);
  const deadline = iae.launchTime.getTime() + minutes * 60_000;
  if (now < deadline) return { instanceId: iae.instanceId, action: "kept", reason: "within its Timeout" };
  if (exempt.has(iae.instanceId)) return { instanceId: iae.instanceId, action: "kept", reason: "exempt" };
  const commands = await deps.compute.activeCommands(iae.instanceId);
  if (commands.length > 0 && deps.compute.cpuIdle && (await deps.compute.cpuIdle(iae.instanceId))) {
    return {
      instanceId: iae.instanceId,
      action: iae.spot ? "terminated" : "stopped",
      reason: `past its Timeout of ${minutes} min and idle`,
    };
  }
  if (commands.length > 0)
    return {
      instanceId: iae.instanceId,
      action: "kept",
      reason: `past its Timeout of ${minutes} min but running command ${commands[0].commandId}`,
    };
  return {
    instanceId: iae.instanceId,
    action: iae.spot ? "terminated" : "stopped",
    reason: `past its Timeout of ${minutes} min and running no command`,
  };
}

/** Account guard sweep (scheduled; the event content is not used). */
export async function runGuard(_event: unknown, deps: GuardDeps): Promise<readonly GuardDecision[]> {
  return sweepAccount(deps);
}
