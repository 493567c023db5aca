import { spendSummaryKey } from "../../model/spend-summary";
import type { RecordedResource } from "../../cli/plan/record";
import {
  affiliateOfGroup,
  affiliateScope,
  aggregateIamLimits,
  iaeS3Scope,
  noAdmin,
  passRoleScope,
  policySize,
  spendSummaryKeyOf,
  userGroupLimit,
} from "../../policies/iam";
import {
  addCopy,
  devStackConfig,
  editDocument,
  find,
  mutate,
  named,
  ofType,
  recordStack,
  violationsOf,
} from "./support";

jest.mock("../../components/lambda-bundle", () => jest.requireActual("./support").bundleMock());

type Statement = Record<string, unknown>;
const jobManagerPolicy = named("-job-manager-policy");
const groupPolicy = (r: RecordedResource) =>
  r.type === "aws:iam/policy:Policy" && r.name === "neurocaas-demo-debuggers-policy";
const iaeInline = named("-iae-s3");

let stack: RecordedResource[];
beforeAll(async () => {
  stack = await recordStack(devStackConfig());
}, 120_000);

describe("neurocaas-no-admin", () => {
  it("passes: no component grants admin", async () => {
    expect(await violationsOf([noAdmin], stack)).toEqual([]);
  });

  it("fails an AdministratorAccess attachment", async () => {
    const bad = mutate(stack, named("neurocaas-demo-iae-ssm"), (p) => {
      p.policyArn = "arn:aws:iam::aws:policy/AdministratorAccess";
    });
    expect((await violationsOf([noAdmin], bad))[0].message).toMatch(/attaches AdministratorAccess/);
  });

  it("fails `*` on `*` in an inline policy", async () => {
    const bad = mutate(stack, jobManagerPolicy, (p) =>
      editDocument(p, (d) => {
        d.Statement.push({ Sid: "Oops", Effect: "Allow", Action: "*", Resource: "*" });
      }),
    );
    expect((await violationsOf([noAdmin], bad))[0].message).toMatch(
      /allows every action on every resource \(Sid Oops\)/,
    );
  });
});

describe("neurocaas-iae-s3-scope", () => {
  it("passes: the IAE role reaches only its analysis bucket", async () => {
    expect(await violationsOf([iaeS3Scope], stack)).toEqual([]);
  });

  it("fails S3 access to every bucket", async () => {
    const bad = mutate(stack, iaeInline, (p) =>
      editDocument(p, (d) => {
        d.Statement[0].Resource = "arn:aws:s3:::*";
      }),
    );
    expect((await violationsOf([iaeS3Scope], bad))[0].message).toMatch(
      /IAE role 'neurocaas-demo-iae'.*'arn:aws:s3:::\*', outside the analysis buckets/,
    );
  });

  it("fails another analysis' bucket unless the operator lists it", async () => {
    const bad = mutate(stack, iaeInline, (p) =>
      editDocument(p, (d) => {
        (d.Statement[1].Resource as string[]).push("arn:aws:s3:::caiman-ncap-web/*");
      }),
    );
    expect((await violationsOf([iaeS3Scope], bad))[0].message).toMatch(/caiman-ncap-web/);
    expect(
      await violationsOf([iaeS3Scope], bad, {
        "neurocaas-iae-s3-scope": { extraAnalysisBuckets: ["caiman-ncap-web"] },
      }),
    ).toEqual([]);
  });

  it("tells S3 patterns from other services' wildcards", async () => {
    const logs = mutate(stack, iaeInline, (p) =>
      editDocument(p, (d) => {
        (d.Statement[1].Resource as string[]).push("arn:aws:logs:us-east-1:*:log-group:x");
      }),
    );
    expect(await violationsOf([iaeS3Scope], logs)).toEqual([]);
    const anyArn = mutate(stack, iaeInline, (p) =>
      editDocument(p, (d) => {
        (d.Statement[1].Resource as string[]).push("arn:aws:*");
      }),
    );
    expect((await violationsOf([iaeS3Scope], anyArn))[0].message).toMatch(/'arn:aws:\*', outside the analysis buckets/);
  });

  it("fails S3 full access through a managed policy", async () => {
    const bad = mutate(stack, named("neurocaas-demo-iae-ssm"), (p) => {
      p.policyArn = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
    });
    expect((await violationsOf([iaeS3Scope], bad))[0].message).toMatch(/AmazonS3FullAccess/);
  });
});

describe("neurocaas-passrole-scope", () => {
  it("passes: the job manager may pass only its IAE role", async () => {
    const doc = JSON.parse(find(stack, jobManagerPolicy).inputs.policy as string) as { Statement: Statement[] };
    expect(JSON.stringify(doc)).toContain("iam:PassRole");
    expect(await violationsOf([passRoleScope], stack)).toEqual([]);
  });

  it.each([["*"], ["arn:aws:iam::123456789012:role/*"], ["arn:aws:iam::123456789012:role/neurocaas-demo-job-manager"]])(
    "fails PassRole on %s",
    async (resource) => {
      const bad = mutate(stack, jobManagerPolicy, (p) =>
        editDocument(p, (d) => {
          for (const st of d.Statement) if (JSON.stringify(st.Action).includes("iam:PassRole")) st.Resource = resource;
        }),
      );
      expect((await violationsOf([passRoleScope], bad))[0].message).toMatch(/allows iam:PassRole on/);
    },
  );
});

describe("neurocaas-affiliate-scope", () => {
  it("passes: each group stays in its folder and cannot read inputs", async () => {
    expect(await violationsOf([affiliateScope], stack)).toEqual([]);
  });

  it("fails a grant on another group's folder", async () => {
    const bad = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        d.Statement.push({
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: "arn:aws:s3:::neurocaas-demo/brunolab/results/*",
        });
      }),
    );
    const v = await violationsOf([affiliateScope], bad);
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/neurocaas-demo.debuggers.*outside the group folder 'debuggers\/'/),
    ]);
  });

  it("fails get on inputs/", async () => {
    const bad = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        for (const st of d.Statement) if (st.Sid === "UploadInputs") (st.Action as string[]).push("s3:GetObject");
      }),
    );
    expect((await violationsOf([affiliateScope], bad)).map((x) => x.message)).toEqual([
      expect.stringMatching(/allows s3:GetObject on 'neurocaas-demo\/debuggers\/inputs\/'/),
    ]);
  });

  it("fails a wildcard over the whole group folder (it covers inputs/)", async () => {
    const bad = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        d.Statement.push({ Effect: "Allow", Action: "s3:Get*", Resource: "arn:aws:s3:::neurocaas-demo/debuggers/*" });
      }),
    );
    expect((await violationsOf([affiliateScope], bad)).map((x) => x.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/s3:GetObject on 'neurocaas-demo\/debuggers\/inputs\/'/)]),
    );
  });

  it("fails listing without a prefix condition", async () => {
    const bad = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        delete d.Statement[0].Condition;
      }),
    );
    expect((await violationsOf([affiliateScope], bad))[0].message).toMatch(/without an s3:prefix condition/);
  });

  it("accepts reading the group's own spend summary, and nothing else under logs/", async () => {
    expect(JSON.stringify(JSON.parse(find(stack, groupPolicy).inputs.policy as string))).toContain(
      `logs/_spend/debuggers.json`,
    );
    const other = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        d.Statement.push({
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: "arn:aws:s3:::neurocaas-demo/logs/_spend/brunolab.json",
        });
      }),
    );
    expect((await violationsOf([affiliateScope], other)).map((x) => x.message)).toEqual([
      expect.stringMatching(/logs\/_spend\/brunolab.json', outside the group folder/),
    ]);
    const write = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        for (const st of d.Statement) if (st.Sid === "ReadSpendSummary") st.Action = ["s3:GetObject", "s3:PutObject"];
      }),
    );
    expect((await violationsOf([affiliateScope], write)).map((x) => x.message)).toEqual([
      expect.stringMatching(/s3:GetObject, s3:PutObject on '.*logs\/_spend\/debuggers.json', outside the group folder/),
    ]);
  });

  it("names the spend summary key as the protocols do (the pack cannot import them)", () => {
    expect(spendSummaryKeyOf("lab.v2")).toBe(spendSummaryKey("lab.v2"));
  });

  it("maps group names to affiliates", () => {
    expect(affiliateOfGroup("neurocaas-demo.debuggers", ["debuggers", "brunolab"])).toBe("debuggers");
    expect(affiliateOfGroup("neurocaas-demo.lab.v2", [])).toBe("lab.v2");
    expect(affiliateOfGroup("debuggers", [])).toBe("debuggers");
  });
});

// Internal helpers of @pulumi/policy (untyped): the engine-side proxy and its unknown sentinel.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy, unknownStringValue } = require("@pulumi/policy/proxy") as {
  unknownCheckingProxy<T>(o: T): T;
  unknownStringValue: string;
};

describe("neurocaas-affiliate-scope during a real preview (policy ARNs not known yet)", () => {
  const previewOf = (resources: RecordedResource[]) =>
    resources.map((r) => {
      if (r.type === "aws:iam/policy:Policy")
        return { ...r, outputs: unknownCheckingProxy({ ...r.outputs, arn: unknownStringValue }) };
      if (r.type === "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")
        return { ...r, outputs: unknownCheckingProxy({ ...r.outputs, policyArn: unknownStringValue }) };
      return r;
    });

  it("follows attachments to their policies by dependency", async () => {
    expect(await violationsOf([affiliateScope], previewOf(stack))).toEqual([]);
    const bad = previewOf(
      mutate(stack, groupPolicy, (p) =>
        editDocument(p, (d) => {
          d.Statement.push({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::neurocaas-demo/*" });
        }),
      ),
    );
    expect((await violationsOf([affiliateScope], bad)).map((v) => v.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/outside the group folder 'debuggers\/'/)]),
    );
  });
});

describe("neurocaas-policy-size", () => {
  it("passes the components' policies", async () => {
    expect(await violationsOf([policySize], stack)).toEqual([]);
  });

  it("fails a managed policy over 6,144 characters", async () => {
    const bad = mutate(stack, groupPolicy, (p) =>
      editDocument(p, (d) => {
        for (let i = 0; i < 60; i += 1)
          d.Statement.push({
            Effect: "Allow",
            Action: "s3:PutObject",
            Resource: `arn:aws:s3:::neurocaas-demo/debuggers/configs/${"x".repeat(60)}${i}`,
          });
      }),
    );
    expect((await violationsOf([policySize], bad))[0].message).toMatch(/over the AWS limit of 6144/);
  });
});

describe("neurocaas-iam-aggregate-limits", () => {
  it("passes the components' principals", async () => {
    expect(await violationsOf([aggregateIamLimits], stack)).toEqual([]);
  });

  it("fails more than 10 managed policies on one group", async () => {
    const template = find(stack, ofType("aws:iam/groupPolicyAttachment:GroupPolicyAttachment"));
    let bad = stack;
    for (let i = 0; i < 10; i += 1)
      bad = addCopy(bad, template, `extra-attachment-${i}`, (p) => {
        p.policyArn = `arn:aws:iam::aws:policy/Extra${i}`;
      });
    expect((await violationsOf([aggregateIamLimits], bad))[0].message).toMatch(
      /group 'neurocaas-demo.debuggers' has 11 managed policies/,
    );
  });

  it("fails inline role policies over 10,240 characters in total", async () => {
    const template = find(stack, jobManagerPolicy);
    let bad = stack;
    for (let i = 0; i < 3; i += 1)
      bad = addCopy(bad, template, `extra-inline-${i}`, (p) => {
        p.name = `extra-${i}`;
      });
    expect((await violationsOf([aggregateIamLimits], bad))[0].message).toMatch(
      /role 'neurocaas-demo-job-manager' total \d+ characters, over the AWS limit of 10240/,
    );
  });
});

describe("neurocaas-user-group-limit", () => {
  it("passes a user in a few groups", async () => {
    expect(
      stack.some(
        (r) =>
          r.type === "aws:iam/userGroupMembership:UserGroupMembership" ||
          r.type === "aws:iam/groupMembership:GroupMembership",
      ),
    ).toBe(true);
    expect(await violationsOf([userGroupLimit], stack)).toEqual([]);
  });

  it("fails a user in 11 groups", async () => {
    const template = find(stack, ofType("aws:iam/userGroupMembership:UserGroupMembership"));
    let bad = stack;
    for (let i = 0; i < 10; i += 1)
      bad = addCopy(bad, template, `other-analysis-${i}-member`, (p) => {
        p.groups = [`analysis-${i}.debuggers`];
      });
    expect((await violationsOf([userGroupLimit], bad))[0].message).toMatch(
      /User 'debuguserus-east-1' would be in 11 groups/,
    );
  });
});
