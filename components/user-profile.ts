import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkGroupsPerUser, checkNameLength } from "./limits";
import { NAME_LIMITS, iamUserName } from "./names";
import { neurocaasTags, SHARED_ANALYSIS, SHARED_STAGE } from "./tags";
import { changeOwnPasswordPolicy } from "./iam/policies";

/** Login-profile inputs AWS does not report back (or that only matter at creation). */
const LOGIN_PROFILE_IGNORED = ["password", "passwordLength", "passwordResetRequired", "pgpKey"] as const;

export interface UserProfileArgs {
  /** NeuroCAAS user name; the IAM user is `{userName}{region}`. */
  readonly userName: string;
  readonly region: string;
  /**
   * IAM groups (`{analysis}.{affiliate}`) the user belongs to. The analyses' stacks own the
   * memberships (their blueprints list the user); the profile declares them to enforce the
   * 10-groups-per-user limit at deploy time.
   */
  readonly groups: readonly string[];
  /** Create a console login (initial password, reset required). */
  readonly console: boolean;
  /** Create an access key for the CLI and the web client. */
  readonly accessKey: boolean;
}

/** A NeuroCAAS user: IAM user with login and access keys exposed only as secret outputs. */
export class UserProfile extends pulumi.ComponentResource {
  readonly user: aws.iam.User;
  readonly iamUserName: string;
  readonly password?: pulumi.Output<string>;
  readonly accessKeyId?: pulumi.Output<string>;
  readonly secretAccessKey?: pulumi.Output<string>;

  constructor(name: string, args: UserProfileArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neurocaas:components:UserProfile", name, {}, opts);
    this.iamUserName = checkNameLength("IAM user", iamUserName(args.userName, args.region), NAME_LIMITS.iamUser);
    checkGroupsPerUser(this.iamUserName, args.groups);
    const parent = { parent: this };
    this.user = new aws.iam.User(
      `${name}-user`,
      {
        name: this.iamUserName,
        path: "/neurocaas/",
        tags: neurocaasTags(SHARED_ANALYSIS, SHARED_STAGE, "user-profile"),
      },
      parent,
    );
    if (args.console) {
      // AWS never returns the password again: after a refresh these inputs read as changed, and
      // without ignoreChanges the next `up` would replace the profile and reset the user's password.
      const login = new aws.iam.UserLoginProfile(
        `${name}-login`,
        {
          user: this.user.name,
          passwordResetRequired: true,
          passwordLength: 24,
        },
        { parent: this, additionalSecretOutputs: ["password"], ignoreChanges: [...LOGIN_PROFILE_IGNORED] },
      );
      this.password = pulumi.secret(login.password);
      // A user who must reset the initial password needs iam:ChangePassword on themself.
      new aws.iam.UserPolicy(
        `${name}-change-password`,
        {
          user: this.user.name,
          name: "change-own-password",
          policy: JSON.stringify(changeOwnPasswordPolicy(args.region)),
        },
        parent,
      );
    }
    if (args.accessKey) {
      const key = new aws.iam.AccessKey(
        `${name}-access-key`,
        { user: this.user.name },
        { parent: this, additionalSecretOutputs: ["secret"] },
      );
      this.accessKeyId = pulumi.secret(key.id);
      this.secretAccessKey = pulumi.secret(key.secret);
    }
    this.registerOutputs({
      iamUserName: this.iamUserName,
      password: this.password,
      accessKeyId: this.accessKeyId,
      secretAccessKey: this.secretAccessKey,
    });
  }
}
