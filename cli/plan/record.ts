import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";

/**
 * Runs a Pulumi program under mocks and records every resource registration the way the engine
 * would hand it to a policy pack: URN, type, name, parent, dependencies, options, inputs and
 * (mocked) outputs.
 */

export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** false for component resources. */
  readonly custom: boolean;
  readonly id?: string;
  readonly parent?: string;
  readonly provider?: string;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly protect: boolean;
  readonly ignoreChanges: readonly string[];
  readonly deleteBeforeReplace?: boolean;
  readonly additionalSecretOutputs: readonly string[];
  readonly inputs: Record<string, unknown>;
  readonly outputs: Record<string, unknown>;
}

/** Plain JSON-like value: secrets unwrapped (policies see secret plaintext too), assets summarized. */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(plain);
  if (pulumi.asset.Archive.isInstance(value) || pulumi.asset.Asset.isInstance(value)) return "<asset>";
  const v = value as Record<string, unknown>;
  if (v[rpc.specialSigKey] === rpc.specialSecretSig) return plain(v.value);
  if (v[rpc.specialSigKey] === rpc.specialArchiveSig || v[rpc.specialSigKey] === rpc.specialAssetSig) return "<asset>";
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x);
  return out;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getProtect(): boolean | undefined;
  getIgnorechangesList(): string[];
  getDeletebeforereplace(): boolean;
  getAdditionalsecretoutputsList(): string[];
  getObject(): unknown;
}

interface RegisterResponse {
  getUrn(): string;
  getId(): string;
  getObject(): unknown;
}

type Callback = (err: unknown, resp: RegisterResponse | undefined) => void;

/**
 * Installs `mocks` and returns the list that fills as the program registers resources.
 * The mock monitor is wrapped (it is the SDK's own MockMonitor), because parent and dependency
 * URNs are not part of the public mocks interface.
 */
export async function recordResources(
  mocks: pulumi.runtime.Mocks,
  project: string,
  stack: string,
  organization = "organization",
): Promise<RecordedResource[]> {
  await pulumi.runtime.setMocks(mocks, project, stack, false, organization);
  const monitor = settings.getMonitor() as unknown as
    { registerResource(req: RegisterRequest, cb: Callback): Promise<void> } | undefined;
  if (!monitor) throw new Error("Pulumi mocks did not install a resource monitor");
  const recorded: RecordedResource[] = [];
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    original(req, (err, resp) => {
      if (!err && resp) {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((v, k) => {
          propertyDependencies[k] = v.getUrnsList();
        });
        const deserialize = (o: unknown) =>
          plain(rpc.deserializeProperties(o as Parameters<typeof rpc.deserializeProperties>[0])) as Record<
            string,
            unknown
          >;
        recorded.push({
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          ...(resp.getId() ? { id: resp.getId() } : {}),
          ...(req.getParent() ? { parent: req.getParent() } : {}),
          ...(req.getProvider() ? { provider: req.getProvider() } : {}),
          dependencies: req.getDependenciesList(),
          propertyDependencies,
          protect: req.getProtect() ?? false,
          ignoreChanges: req.getIgnorechangesList(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          inputs: deserialize(req.getObject()),
          outputs: { ...deserialize(resp.getObject()), ...(resp.getId() ? { id: resp.getId() } : {}) },
        });
      }
      cb(err, resp);
    });
  return recorded;
}

/** Resolves once every pending resource registration and invoke has finished. */
export async function waitForProgram(): Promise<void> {
  const wait = (settings as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  if (typeof wait !== "function")
    throw new Error(
      "@pulumi/pulumi no longer exports runtime/settings.waitForRPCs; the plan cannot tell when the program finished",
    );
  await wait();
}
