import { loadStackFile } from "../../model/blueprint/parse";
import { stackBucketName } from "../../components/settings";
import type { Blueprint } from "../../model/blueprint/types";
import type { RemoteClients } from "./clients";
import type { Clock } from "./lifetime";
import { loadRemoteState, saveRemoteState, type RemoteState } from "./state";

/** Everything a `remote` command needs; the CLI builds it, tests inject mocks and a fixed clock. */
export interface RemoteContext {
  readonly stackFile: string;
  readonly blueprint: Blueprint;
  /** The analysis bucket (`neurocaas:bucketName` of the stack file); default: the PipelineName. */
  readonly bucket?: string;
  readonly clients: RemoteClients;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  /** One line of user-facing output (stdout). */
  readonly out: (line: string) => void;
}

export function loadBlueprintForRemote(stackFile: string): { blueprint: Blueprint; bucket: string } {
  const { blueprint, config } = loadStackFile(stackFile);
  if (!blueprint)
    throw new Error(
      `${stackFile} has no "neurocaas:blueprint" in its config: remote commands need the analysis blueprint`,
    );
  try {
    return { blueprint, bucket: stackBucketName(config, blueprint) };
  } catch (err) {
    throw new Error(`${stackFile}: ${(err as Error).message}`, { cause: err });
  }
}

/** The bucket debug jobs read from and write to. */
export function analysisBucketOf(ctx: Pick<RemoteContext, "blueprint" | "bucket">): string {
  return ctx.bucket ?? ctx.blueprint.PipelineName;
}

export function readState(ctx: RemoteContext): RemoteState {
  return loadRemoteState(ctx.stackFile, ctx.blueprint.PipelineName);
}

export function writeState(ctx: RemoteContext, state: RemoteState): void {
  saveRemoteState(ctx.stackFile, state);
}
