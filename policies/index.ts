import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, allPolicies } from "./all";

// The only place the pack is constructed: `pulumi preview --policy-pack policies` runs this file.
new PolicyPack(PACK_NAME, {
  description: "NeuroCAAS cost, IAM, S3 and Lambda guard rails (see policies/README.md).",
  enforcementLevel: PACK_ENFORCEMENT_LEVEL,
  policies: allPolicies,
});
