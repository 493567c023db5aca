import * as pulumi from "@pulumi/pulumi";
import { computedOutputs, mockCall } from "../../cli/plan/mocks";
import { ACCOUNT } from "./iam-sim";

export const PROJECT = "neurocaas";
export const STACK = "test";
const REGION = "us-east-1";

/** What the engine receives for one resource: its URN, parent, aliases, dependencies and inputs. */
export interface Registration {
  readonly type: string;
  readonly name: string;
  /** The URN the engine gives it (qualified by its parents' types). */
  readonly urn: string;
  /** The URN the mock monitor gives it (qualified by its parent's type only); `dependencies` use these. */
  readonly monitorUrn: string;
  readonly parent: string;
  /** URNs the resource also answers to (its alias specs resolved as the engine does). */
  readonly aliasUrns: string[];
  /** Direct dependencies (URNs): `dependsOn` and the resources its inputs came from. */
  readonly dependencies: string[];
  readonly inputs: Record<string, unknown>;
}

interface AliasSpec {
  getName(): string;
  getType(): string;
  getParenturn(): string;
  getNoparent(): boolean;
}
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getAliasesList(): { getUrn(): string; getSpec(): AliasSpec | undefined }[];
}

/** The qualified type part of a URN (`parentType$type`). */
function qualifiedType(urn: string): string {
  return urn.split("::")[2];
}

/** The URN the engine gives a resource of `type` and `name` under the resource `parentUrn`. */
export function urnOf(type: string, name: string, parentUrn?: string): string {
  const qualified =
    parentUrn === undefined || parentUrn === "" || qualifiedType(parentUrn) === "pulumi:pulumi:Stack"
      ? type
      : `${qualifiedType(parentUrn)}$${type}`;
  return `urn:pulumi:${STACK}::${PROJECT}::${qualified}::${name}`;
}

/**
 * Pulumi mocks that record every registration as the engine would see it (URN, parent, resolved
 * aliases, dependencies) and, in `events`, when each registration started and was answered.
 * `delay(type, name)` > 0 answers that resource's registration only after
 * that many turns of the event loop, like a slow cloud API.
 */
export function recordRegistrations(
  delay: (type: string, name: string) => number = () => 0,
): Registration[] & { events: string[] } {
  const registrations = Object.assign([] as Registration[], { events: [] as string[] });
  const pending = new Map<string, Omit<Registration, "inputs">>();
  pulumi.runtime.setMocks(
    {
      async newResource(args) {
        registrations.events.push(`start ${args.type}::${args.name}`);
        for (let i = delay(args.type, args.name); i > 0; i--) await new Promise((resolve) => setImmediate(resolve));
        const seen = pending.get(`${args.type}::${args.name}`);
        if (seen === undefined) throw new Error(`no registration request seen for ${args.type} ${args.name}`);
        registrations.push({ ...seen, inputs: args.inputs as Record<string, unknown> });
        registrations.events.push(`done ${args.type}::${args.name}`);
        const { id, state } = computedOutputs(args.type, args.name, args.inputs, {
          accountId: ACCOUNT,
          region: REGION,
        });
        return { id, state: { ...args.inputs, ...state } };
      },
      call(args) {
        return mockCall(args.token, args.inputs as Record<string, unknown>, { accountId: ACCOUNT, region: REGION });
      },
    },
    PROJECT,
    STACK,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    const aliasUrns = req.getAliasesList().map((alias) => {
      const spec = alias.getSpec();
      if (spec === undefined) return alias.getUrn();
      return urnOf(
        spec.getType() || type,
        spec.getName() || name,
        spec.getNoparent() ? undefined : spec.getParenturn() || parent,
      );
    });
    const monitorUrn = `urn:pulumi:${STACK}::${PROJECT}::${parent === "" ? "" : `${qualifiedType(parent).split("$").pop()}$`}${type}::${name}`;
    pending.set(`${type}::${name}`, {
      type,
      name,
      urn: urnOf(type, name, parent),
      monitorUrn,
      parent,
      aliasUrns,
      dependencies: req.getDependenciesList(),
    });
    return register(req, cb);
  };
  return registrations;
}

/** Every address a registered resource answers to: its URN and its aliases. */
export function addresses(registrations: readonly Registration[]): Map<string, Registration> {
  const out = new Map<string, Registration>();
  for (const r of registrations) for (const urn of [r.urn, ...r.aliasUrns]) out.set(urn, r);
  return out;
}
