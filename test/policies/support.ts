import "./realm";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import { evaluatePolicies, type Violation } from "../../cli/plan/evaluate";
import type { RecordedResource } from "../../cli/plan/record";
import { isInvalid, planStack } from "../../cli/plan/run";

/**
 * Policy tests start from what the project's own components produce: a stack config is planned
 * under mocks (the real program, real components), and failing cases mutate those records.
 * Test files mock `handlerArchive` (Lambda code is irrelevant to policies, and esbuild is slow).
 */

export const DEMO_BLUEPRINT = {
  PipelineName: "neurocaas-demo",
  REGION: "us-east-1",
  STAGE: "webdev",
  Lambda: {
    Protocol: "default",
    LambdaConfig: {
      AMI: "ami-0123456789abcdef0",
      INSTANCE_TYPE: "t3.micro",
      COMMAND: 'neurocaas workflow run-main "{}" "{}" "{}" "{}" examples/pca/run_pca.sh',
    },
  },
  UXData: {
    Affiliates: [
      { AffiliateName: "debuggers", UserNames: ["debuguser"], UserInput: true },
      { AffiliateName: "brunolab", UserNames: ["rb2604", "sb4096"], UserInput: true },
    ],
  },
};

/** The dev-stack shape: utils and guard in-program, one analysis, one user profile. */
export function devStackConfig(blueprint: Record<string, unknown> = DEMO_BLUEPRINT): Record<string, unknown> {
  return {
    "aws:region": "us-east-1",
    "neurocaas:deployUtils": true,
    "neurocaas:sshCidr": "203.0.113.0/24",
    "neurocaas:blueprint": blueprint,
    "neurocaas:userProfiles": [
      { UserName: "debuguser", Groups: [{ Analysis: "neurocaas-demo", Affiliate: "debuggers" }] },
    ],
  };
}

/** Plans a stack config (written to a temp file) and returns every recorded resource. */
export async function recordStack(config: Record<string, unknown>, stack = "policy-test"): Promise<RecordedResource[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-test-"));
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ config }));
  try {
    const run = await planStack({ file, stack });
    if (isInvalid(run)) throw new Error(`test stack config is invalid: ${JSON.stringify(run.issues)}`);
    return [...run.recorded];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function violationsOf(
  policies: Policies,
  resources: readonly RecordedResource[],
  policyConfig?: PolicyPackConfig,
): Promise<Violation[]> {
  const { violations } = await evaluatePolicies({
    resources,
    policies,
    packEnforcementLevel: "mandatory",
    region: "us-east-1",
    ...(policyConfig ? { policyConfig } : {}),
  });
  return violations;
}

type Props = Record<string, unknown>;

/**
 * A copy of `resources` where every record matching `match` has `change` applied to both its
 * inputs and its outputs (policies read inputs per resource and outputs per stack).
 */
export function mutate(
  resources: readonly RecordedResource[],
  match: (r: RecordedResource) => boolean,
  change: (props: Props, r: RecordedResource) => void,
): RecordedResource[] {
  let hits = 0;
  const out = resources.map((r) => {
    if (!match(r)) return r;
    hits += 1;
    const inputs = structuredClone(r.inputs);
    const outputs = structuredClone(r.outputs);
    change(inputs, r);
    change(outputs, r);
    return { ...r, inputs, outputs };
  });
  if (hits === 0) throw new Error("mutate: no resource matched (the components changed shape?)");
  return out;
}

/** Records whose logical name ends with `suffix` (component children are named `{parent}-{role}`). */
export const named = (suffix: string) => (r: RecordedResource) => r.name.endsWith(suffix);
export const ofType = (type: string) => (r: RecordedResource) => r.type === type;

export function find(
  resources: readonly RecordedResource[],
  match: (r: RecordedResource) => boolean,
): RecordedResource {
  const r = resources.find(match);
  if (!r) throw new Error("find: no resource matched (the components changed shape?)");
  return r;
}

/** Adds a copy of `template` under a new logical name (URN made unique). */
export function addCopy(
  resources: readonly RecordedResource[],
  template: RecordedResource,
  name: string,
  change: (props: Props) => void = () => {},
): RecordedResource[] {
  const inputs = structuredClone(template.inputs);
  const outputs = structuredClone(template.outputs);
  change(inputs);
  change(outputs);
  const urn = template.urn.replace(/::[^:]+$/, `::${name}`);
  return [...resources, { ...template, name, urn, inputs, outputs }];
}

export const without = (resources: readonly RecordedResource[], match: (r: RecordedResource) => boolean) =>
  resources.filter((r) => !match(r));

/** Reads the policy document of a record, applies `edit`, writes it back as JSON text. */
export function editDocument(props: Props, edit: (doc: { Statement: Props[] }) => void): void {
  const doc = (typeof props.policy === "string" ? JSON.parse(props.policy) : props.policy) as { Statement: Props[] };
  edit(doc);
  props.policy = JSON.stringify(doc);
}

/** Reads the runtime config in a Lambda's environment, applies `edit`, writes it back. */
export function editRuntimeConfig(props: Props, edit: (rc: Props) => void): void {
  const vars = (props.environment as { variables: Record<string, string> }).variables;
  const rc = JSON.parse(vars.NEUROCAAS_CONFIG) as Props;
  edit(rc);
  vars.NEUROCAAS_CONFIG = JSON.stringify(rc);
}

export function bundleMock(): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  return {
    ...jest.requireActual("../../components/lambda-bundle"),
    handlerArchive: () =>
      new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => {};") }),
  };
}
