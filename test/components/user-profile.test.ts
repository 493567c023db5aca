import * as pulumi from "@pulumi/pulumi";
import { installMocks, settle, byType, outputOf } from "./mocks";
import { UserProfile } from "../../components/user-profile";
import { decide, ACCOUNT } from "./iam-sim";
import type { PolicyDocument } from "../../components/iam/document";

const recorded = installMocks();

describe("UserProfile", () => {
  let full: UserProfile;
  let keyOnly: UserProfile;

  beforeAll(async () => {
    full = new UserProfile("alice", {
      userName: "alice",
      region: "us-east-1",
      groups: ["a.lab", "b.lab"],
      console: true,
      accessKey: true,
    });
    keyOnly = new UserProfile("bob", {
      userName: "bob",
      region: "eu-west-1",
      groups: [],
      console: false,
      accessKey: true,
    });
    await settle(recorded);
  });

  it("names the IAM user {user}{REGION} under /neurocaas/", () => {
    const users = byType(recorded, "aws:iam/user:User")
      .map((u) => [u.inputs.name, u.inputs.path])
      .sort();
    expect(users).toEqual([
      ["aliceus-east-1", "/neurocaas/"],
      ["bobeu-west-1", "/neurocaas/"],
    ]);
  });

  it("creates a console login that must be reset, only when asked", () => {
    const logins = byType(recorded, "aws:iam/userLoginProfile:UserLoginProfile");
    expect(logins).toHaveLength(1);
    expect(logins[0].inputs.passwordResetRequired).toBe(true);
    expect(keyOnly.password).toBeUndefined();
  });

  it("never resets a password on a later `up`: AWS does not return it, so its inputs are ignored", () => {
    const login = byType(recorded, "aws:iam/userLoginProfile:UserLoginProfile")[0];
    expect([...login.options.ignoreChanges].sort()).toEqual([
      "password",
      "passwordLength",
      "passwordResetRequired",
      "pgpKey",
    ]);
  });

  it("lets a console user change their own password (required at first sign-in), nobody else's", async () => {
    const policies = byType(recorded, "aws:iam/userPolicy:UserPolicy");
    expect(policies.map((p) => p.inputs.user)).toEqual(["aliceus-east-1"]);
    const doc = JSON.parse(policies[0].inputs.policy as string) as PolicyDocument;
    const asAlice = {
      principal: `arn:aws:iam::${ACCOUNT}:user/neurocaas/aliceus-east-1`,
      context: { "aws:username": "aliceus-east-1" },
    };
    expect(
      await decide([doc], {
        action: "iam:ChangePassword",
        resource: `arn:aws:iam::${ACCOUNT}:user/neurocaas/aliceus-east-1`,
        ...asAlice,
      }),
    ).toBe("Allowed");
    expect(
      await decide([doc], {
        action: "iam:ChangePassword",
        resource: `arn:aws:iam::${ACCOUNT}:user/neurocaas/bobeu-west-1`,
        ...asAlice,
      }),
    ).toBe("ImplicitlyDenied");
    expect(
      await decide([doc], {
        action: "iam:CreateAccessKey",
        resource: `arn:aws:iam::${ACCOUNT}:user/neurocaas/aliceus-east-1`,
        ...asAlice,
      }),
    ).toBe("ImplicitlyDenied");
  });

  it("exports credentials only as secrets", async () => {
    for (const o of [full.password!, full.accessKeyId!, full.secretAccessKey!, keyOnly.secretAccessKey!]) {
      expect(await pulumi.isSecret(o)).toBe(true);
    }
    expect(await outputOf(full.secretAccessKey!)).toMatch(/^mock-secret-/);
  });

  it("counts groups case-insensitively against the limit of 10", () => {
    const groups = [...Array.from({ length: 10 }, (_, i) => `a${i}.lab`), "A0.LAB"];
    expect(
      () =>
        new UserProfile("carol", { userName: "carol", region: "us-east-1", groups, console: false, accessKey: false }),
    ).not.toThrow();
    expect(
      () =>
        new UserProfile("dave", {
          userName: "dave",
          region: "us-east-1",
          groups: [...groups, "z.lab"],
          console: false,
          accessKey: false,
        }),
    ).toThrow(/11 groups/);
  });

  it("rejects an IAM user name over 64 characters", () => {
    expect(
      () =>
        new UserProfile("long", {
          userName: "u".repeat(60),
          region: "us-east-1",
          groups: [],
          console: false,
          accessKey: false,
        }),
    ).toThrow(/IAM user name .* 69 characters; AWS allows at most 64/);
  });
});
