import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import * as aws from "@pulumi/aws";
import { resolvePolicyConfigs } from "../../cli/plan/evaluate";
import { allPolicies, PACK_NAME } from "../../policies/all";
import { COST_LIMIT_TAGS, COST_TAG_KEYS, RUNTIME_CONFIG_ENV, T } from "../../policies/resources";
import { COST_TAGS } from "../../components/cost-tags";
import { RUNTIME_CONFIG_ENV as PROGRAM_RUNTIME_CONFIG_ENV } from "../../model/runtime-config";
import { TAG_KEYS } from "../../components/tags";

const root = path.resolve(__dirname, "../..");
const readJson = (f: string) =>
  JSON.parse(fs.readFileSync(path.join(root, f), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    version?: string;
  };
const major = (range: string) => Number(/(\d+)\./.exec(range)?.[1]);

describe("policy pack packaging", () => {
  const pack = readJson("policies/package.json");
  const program = readJson("package.json");
  const programDeps = { ...program.dependencies, ...program.devDependencies };

  it.each(["@pulumi/aws", "@pulumi/policy", "@pulumi/pulumi"])(
    "pins the same %s major as the program (and as installed)",
    (name) => {
      const packRange = pack.dependencies?.[name];
      expect(packRange).toBeDefined();
      expect(major(packRange!)).toBe(major(programDeps[name]));
      const installed = readJson(`node_modules/${name}/package.json`).version!;
      expect(major(packRange!)).toBe(major(installed.replace(/^v/, "")));
    },
  );

  it("is a nodejs CrossGuard pack whose entry is index.ts", () => {
    const manifest = YAML.parse(fs.readFileSync(path.join(root, "policies/PulumiPolicy.yaml"), "utf8")) as {
      runtime: string;
    };
    expect(manifest.runtime).toBe("nodejs");
    expect((pack as { main?: string }).main).toBe("index.ts");
    expect(fs.existsSync(path.join(root, "policies/index.ts"))).toBe(true);
  });

  it("constructs the PolicyPack only in policies/index.ts", () => {
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (["node_modules", ".git", "dist", ".neurocaas"].includes(e.name)) continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (
          e.name.endsWith(".ts") &&
          /new\s+PolicyPack\s*\(/.test(fs.readFileSync(p, "utf8")) &&
          !p.includes(`${path.sep}test${path.sep}`)
        )
          hits.push(path.relative(root, p));
      }
    };
    walk(root);
    expect(hits).toEqual([path.join("policies", "index.ts")]);
  });
});

describe("policy definitions", () => {
  it("have unique neurocaas- names, descriptions and enforcement levels", () => {
    const names = allPolicies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of allPolicies) {
      expect(p.name).toMatch(/^neurocaas-[a-z0-9-]+$/);
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.enforcementLevel).toBe("mandatory");
    }
    expect(PACK_NAME).toBe("neurocaas");
  });

  it("each have their own passing and failing tests", () => {
    const tests = fs
      .readdirSync(__dirname)
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => fs.readFileSync(path.join(__dirname, f), "utf8"))
      .join("\n");
    for (const p of allPolicies)
      expect({
        policy: p.name,
        tested: tests.includes(`"${p.name}`) || tests.includes(` ${p.name}"`) || tests.includes(`${p.name} and`),
      }).toEqual({ policy: p.name, tested: true });
  });

  it("have config schemas whose defaults validate", () => {
    const resolved = resolvePolicyConfigs(allPolicies);
    expect(resolved.get("neurocaas-instance-types")?.values.allowedInstanceTypes).toContain("p3.2xlarge");
    expect(resolved.get("neurocaas-deploy-limit")?.values.maxDeployLimit).toBe(300);
  });

  it("reject bad operator config with the policy and key named", () => {
    expect(() => resolvePolicyConfigs(allPolicies, { "neurocaas-deploy-limit": { maxDeployLimit: "many" } })).toThrow(
      /neurocaas-deploy-limit.*maxDeployLimit/,
    );
    expect(() => resolvePolicyConfigs(allPolicies, { "neurocaas-no-such-policy": "advisory" })).toThrow(
      /neurocaas-no-such-policy/,
    );
    expect(() => resolvePolicyConfigs(allPolicies, { "neurocaas-no-admin": { limit: 3 } })).toThrow(/takes no config/);
  });
});

describe("contracts with the program and the provider", () => {
  it("reads the runtime config from the variable the program sets", () => {
    expect(RUNTIME_CONFIG_ENV).toBe(PROGRAM_RUNTIME_CONFIG_ENV);
  });

  it("checks the cost tags the components write", () => {
    expect([...COST_TAG_KEYS]).toEqual([TAG_KEYS.analysis, TAG_KEYS.stage]);
  });

  it("reads the cost limits from the tags the components write (known on a first preview)", () => {
    expect(COST_LIMIT_TAGS).toEqual(COST_TAGS);
  });

  it("uses the type tokens of the installed @pulumi/aws (a rename would silently disable a policy)", () => {
    const classes: Record<string, { __pulumiType: string }> = {
      bucket: aws.s3.Bucket as unknown as { __pulumiType: string },
      publicAccessBlock: aws.s3.BucketPublicAccessBlock as unknown as { __pulumiType: string },
      encryption: aws.s3.BucketServerSideEncryptionConfiguration as unknown as { __pulumiType: string },
      ownershipControls: aws.s3.BucketOwnershipControls as unknown as { __pulumiType: string },
      bucketAcl: aws.s3.BucketAcl as unknown as { __pulumiType: string },
      cors: aws.s3.BucketCorsConfiguration as unknown as { __pulumiType: string },
      notification: aws.s3.BucketNotification as unknown as { __pulumiType: string },
      bucketPolicy: aws.s3.BucketPolicy as unknown as { __pulumiType: string },
      lambda: aws.lambda.Function as unknown as { __pulumiType: string },
      eventInvokeConfig: aws.lambda.FunctionEventInvokeConfig as unknown as { __pulumiType: string },
      logGroup: aws.cloudwatch.LogGroup as unknown as { __pulumiType: string },
      role: aws.iam.Role as unknown as { __pulumiType: string },
      managedPolicy: aws.iam.Policy as unknown as { __pulumiType: string },
      rolePolicy: aws.iam.RolePolicy as unknown as { __pulumiType: string },
      groupPolicy: aws.iam.GroupPolicy as unknown as { __pulumiType: string },
      userPolicy: aws.iam.UserPolicy as unknown as { __pulumiType: string },
      rolePolicyAttachment: aws.iam.RolePolicyAttachment as unknown as { __pulumiType: string },
      groupPolicyAttachment: aws.iam.GroupPolicyAttachment as unknown as { __pulumiType: string },
      userPolicyAttachment: aws.iam.UserPolicyAttachment as unknown as { __pulumiType: string },
      policyAttachment: aws.iam.PolicyAttachment as unknown as { __pulumiType: string },
      instanceProfile: aws.iam.InstanceProfile as unknown as { __pulumiType: string },
      group: aws.iam.Group as unknown as { __pulumiType: string },
      user: aws.iam.User as unknown as { __pulumiType: string },
      userGroupMembership: aws.iam.UserGroupMembership as unknown as { __pulumiType: string },
      groupMembership: aws.iam.GroupMembership as unknown as { __pulumiType: string },
      ec2Instance: aws.ec2.Instance as unknown as { __pulumiType: string },
      launchTemplate: aws.ec2.LaunchTemplate as unknown as { __pulumiType: string },
    };
    for (const [kind, cls] of Object.entries(classes)) {
      expect(T[kind as keyof typeof T]).toContain(cls.__pulumiType);
    }
  });
});
