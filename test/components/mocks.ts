import * as pulumi from "@pulumi/pulumi";
import { computedOutputs, mockCall } from "../../cli/plan/mocks";
import { waitForProgram } from "../../cli/plan/record";
import { ACCOUNT } from "./iam-sim";
import { withoutStackTraces } from "../support/stack-traces";

export const REGION = "us-east-1";

export interface ResourceOptionsSeen {
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
}

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly options: ResourceOptionsSeen;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getRetainondelete(): boolean | undefined;
  getIgnorechangesList(): string[];
  getProtect(): boolean | undefined;
  getDeletebeforereplace(): boolean | undefined;
}

/** Outputs of a mocked utils stack (what `requireOutput("utils")` returns). */
export const FAKE_UTILS = {
  region: REGION,
  iaeRoleName: "neurocaas-dev-iae",
  iaeRoleArn: `arn:aws:iam::${ACCOUNT}:role/neurocaas-dev-iae`,
  iaeInstanceProfileName: "neurocaas-dev-iae",
  iaeInstanceProfileArn: `arn:aws:iam::${ACCOUNT}:instance-profile/neurocaas-dev-iae`,
  iaeSecurityGroupId: "sg-0aaaaaaaaaaaaaaaa",
  devSecurityGroupId: "sg-0bbbbbbbbbbbbbbbb",
  keyName: "neurocaas-dev-key",
  privateKeyParameterName: "/neurocaas/keys/neurocaas-dev-key",
  subnetIds: [] as string[],
  globalParams: {},
};

/**
 * Install Pulumi mocks that give every resource realistic ids/ARNs and record its inputs.
 * Call once per test file (Pulumi reads its settings once per process).
 */
export function installMocks(): Recorded[] {
  const recorded: Recorded[] = [];
  const options = new Map<string, ResourceOptionsSeen>();
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const seen = options.get(`${args.type}::${args.name}`) ?? {
          retainOnDelete: false,
          ignoreChanges: [],
          protect: false,
          deleteBeforeReplace: false,
        };
        recorded.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
          options: seen,
        });
        if (args.type === "pulumi:pulumi:StackReference") {
          return {
            id: String(args.inputs.name),
            state: { name: args.inputs.name, outputs: { utils: FAKE_UTILS }, secretOutputNames: [] },
          };
        }
        const { id, state } = computedOutputs(args.type, args.name, args.inputs, {
          accountId: ACCOUNT,
          region: REGION,
        });
        return { id, state: { ...args.inputs, ...state } };
      },
      call(args) {
        // Unknown data sources throw (cli/plan/mocks.ts): a new invoke cannot silently return nothing.
        return mockCall(args.token, args.inputs as Record<string, unknown>, { accountId: ACCOUNT, region: REGION });
      },
    },
    "neurocaas",
    "test",
    false,
  );
  // The mock monitor does not hand resource options to `newResource`; read them off the request.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    options.set(`${req.getType()}::${req.getName()}`, {
      retainOnDelete: req.getRetainondelete() === true,
      ignoreChanges: req.getIgnorechangesList(),
      protect: req.getProtect() === true,
      deleteBeforeReplace: req.getDeletebeforereplace() === true,
    });
    return register(req, cb);
  };
  return recorded;
}

/**
 * Wait until the program has registered every resource (Pulumi's outstanding RPCs, as the offline
 * plan does; resources whose inputs resolve late, e.g. a Lambda's code bundle, are included).
 */
export function settle(_recorded?: readonly Recorded[]): Promise<void> {
  return withoutStackTraces(waitForProgram);
}

export function byType(recorded: readonly Recorded[], type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}

export function one(recorded: readonly Recorded[], type: string, name: string): Recorded {
  const found = recorded.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1)
    throw new Error(
      `expected one ${type} named ${name}, found ${found.length}: ${recorded
        .filter((r) => r.type === type)
        .map((r) => r.name)
        .join(", ")}`,
    );
  return found[0];
}

export function outputOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) =>
    o.apply((v) => {
      resolve(v);
      return v;
    }),
  );
}
