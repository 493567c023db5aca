import { loadStackFile } from "../../model/blueprint/parse";
import type { Blueprint } from "../../model/blueprint/types";
import type { RemoteClients } from "./clients";
import type { Clock } from "./lifetime";
import { loadRemoteState, saveRemoteState, type RemoteState } from "./state";

/** Everything a `remote` command needs; the CLI builds it, tests inject mocks and a fixed clock. */
export interface RemoteContext {
  readonly stackFile: string;
  readonly blueprint: Blueprint;
  readonly clients: RemoteClients;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** One line of user-facing output (stdout). */
  readonly out: (line: string) => void;
}

export function loadBlueprintForRemote(stackFile: string): Blueprint {
  const { blueprint } = loadStackFile(stackFile);
  if (!blueprint) throw new Error(`${stackFile} has no "neurocaas:blueprint" in its config: remote commands need the analysis blueprint`);
  return blueprint;
}

export function readState(ctx: RemoteContext): RemoteState {
  return loadRemoteState(ctx.stackFile, ctx.blueprint.PipelineName);
}

export function writeState(ctx: RemoteContext, state: RemoteState): void {
  saveRemoteState(ctx.stackFile, state);
}
