import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { costPolicies } from "./cost";
import { dashboardPolicies } from "./dashboard";
import { iamPolicies } from "./iam";
import { lambdaPolicies } from "./lambda";
import { s3Policies } from "./s3";
import { stackPolicies } from "./stack";

/**
 * Every policy of the pack, and the pack's name and default enforcement level. `index.ts` builds
 * the PolicyPack from this list; the offline plan (cli/plan) evaluates the same list directly,
 * because constructing a PolicyPack starts the analyzer's gRPC server.
 */
export const PACK_NAME = "neurocaas";
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const allPolicies: Policies = [
  ...costPolicies,
  ...iamPolicies,
  ...s3Policies,
  ...lambdaPolicies,
  ...stackPolicies,
  ...dashboardPolicies,
];
