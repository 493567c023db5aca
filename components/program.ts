import * as pulumi from "@pulumi/pulumi";
import { AccountGuard } from "./account-guard";
import { AnalysisPipeline } from "./analysis-pipeline";
import { affiliateGroupName } from "./names";
import { stackBucketName, type StackIdentity, type StackSettings } from "./settings";
import { UserProfile } from "./user-profile";
import { UtilsStack, type UtilsOutputs } from "./utils-stack";
import { runtimeConfigFromBlueprint } from "../model/runtime-config-build";
import { WebDashboard } from "./web-dashboard";
import { loadStackFile } from "../model/blueprint/parse";
import type { Blueprint } from "../model/blueprint/types";

/** Stack output of a utils stack that analysis stacks read through a StackReference. */
export const UTILS_OUTPUT = "utils";

interface AnalysisOutputs {
  readonly bucketName: pulumi.Output<string>;
  readonly jobManagerFunction: pulumi.Output<string>;
  readonly monitorFunction: pulumi.Output<string>;
  readonly postprocessFunction?: pulumi.Output<string>;
  readonly groups: pulumi.Output<string>[];
  readonly iaeRoleArn: pulumi.Output<string>;
  readonly iaeInstanceProfileArn: pulumi.Output<string>;
  readonly deadLetterQueueUrl: pulumi.Output<string>;
}

interface UserOutputs {
  readonly iamUserName: string;
  readonly password?: pulumi.Output<string>;
  readonly accessKeyId?: pulumi.Output<string>;
  readonly secretAccessKey?: pulumi.Output<string>;
}

export interface StackOutputs {
  readonly utils?: pulumi.Output<UtilsOutputs>;
  readonly analysis?: AnalysisOutputs;
  readonly users?: Record<string, UserOutputs>;
  readonly accountGuardFunction?: pulumi.Output<string>;
  /** Where users open the web dashboard (with `neurocaas:dashboard`). */
  readonly dashboardUrl?: pulumi.Output<string>;
}

/** The dashboard needs only the blueprint's user-facing fields; the utils values are not among them. */
const DASHBOARD_UTILS_STAND_IN = { iaeInstanceProfileArn: "", iaeRoleArn: "", keyName: "", securityGroupIds: [] };

/** The blueprint and bucket of an analysis stack file the dashboard also serves. */
function dashboardAnalysisOf(file: string): { blueprint: Blueprint; bucketName: string } {
  const { blueprint, config } = loadStackFile(file);
  if (blueprint === undefined)
    throw new Error(`Stack config: neurocaas:dashboard.analysisStacks names ${file}, which has no neurocaas:blueprint`);
  try {
    return { blueprint, bucketName: stackBucketName(config, blueprint) };
  } catch (err) {
    throw new Error(`Stack file ${file} (neurocaas:dashboard.analysisStacks): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function requireRegion(settings: StackSettings, why: string): string {
  if (settings.region === undefined) throw new Error(`Stack config: aws:region is required ${why}`);
  return settings.region;
}

/**
 * Every resource of one stack: utils in-program when configured (dev stack), the analysis
 * pipeline of the blueprint, user profiles and the account guard. `index.ts` only reads config
 * and calls this; the offline plan calls it under mocks with settings from a stack file.
 */
export function defineStack(settings: StackSettings): StackOutputs {
  let utilsOutputs: pulumi.Output<UtilsOutputs> | undefined;
  let exportedUtils: pulumi.Output<UtilsOutputs> | undefined;
  if (settings.deployUtils) {
    const region = requireRegion(settings, "to deploy the utils resources");
    if (settings.utils.sshCidr === undefined)
      throw new Error("Stack config: neurocaas:sshCidr is required when neurocaas:deployUtils is true");
    const utils = new UtilsStack("utils", {
      region,
      namePrefix: settings.namePrefix,
      sshCidr: settings.utils.sshCidr,
      keyName: settings.utils.keyName,
      ...(settings.utils.vpcId !== undefined ? { vpcId: settings.utils.vpcId } : {}),
      subnetIds: settings.utils.subnetIds,
    });
    utilsOutputs = utils.outputs;
    exportedUtils = utils.outputs;
  } else if (settings.blueprint !== undefined) {
    if (settings.utilsStack === undefined)
      throw new Error(
        "Stack config: an analysis stack needs neurocaas:utilsStack unless neurocaas:deployUtils is true",
      );
    const ref = new pulumi.StackReference("utils-stack", { name: settings.utilsStack });
    utilsOutputs = ref.requireOutput(UTILS_OUTPUT) as pulumi.Output<UtilsOutputs>;
  }

  let accountGuardFunction: pulumi.Output<string> | undefined;
  if (settings.guard.enabled) {
    const guard = new AccountGuard("account-guard", {
      region: requireRegion(settings, "to deploy the account guard"),
      namePrefix: settings.namePrefix,
      schedule: settings.guard.schedule,
      exemptInstancesParameter: settings.guard.exemptInstancesParameter,
      logRetentionDays: settings.logRetentionDays,
    });
    accountGuardFunction = guard.fn.name;
  }

  let users: Record<string, UserOutputs> | undefined;
  const userResources: pulumi.Resource[] = [];
  if (settings.userProfiles.length > 0) {
    const region = requireRegion(settings, "for user profiles (user names are {UserName}{region})");
    users = {};
    for (const p of settings.userProfiles) {
      const profile = new UserProfile(`user-${p.UserName}`, {
        userName: p.UserName,
        region,
        groups: p.Groups.map((g) => affiliateGroupName(g.Analysis, g.Affiliate)),
        console: p.Console,
        accessKey: p.AccessKey,
      });
      userResources.push(profile.user);
      users[p.UserName] = {
        iamUserName: profile.iamUserName,
        ...(profile.password !== undefined ? { password: profile.password } : {}),
        ...(profile.accessKeyId !== undefined ? { accessKeyId: profile.accessKeyId } : {}),
        ...(profile.secretAccessKey !== undefined ? { secretAccessKey: profile.secretAccessKey } : {}),
      };
    }
  }

  let analysis: AnalysisOutputs | undefined;
  let dashboardUrl: pulumi.Output<string> | undefined;
  const bp = settings.blueprint;
  let dashboardOrigin: pulumi.Input<string> | undefined = settings.dashboardOrigin;
  if (settings.dashboard !== undefined) {
    // This stack's analysis and those of the listed stack files (deployed by their own stacks,
    // which name this dashboard's origin in neurocaas:dashboardOrigin).
    const served = [
      ...(bp !== undefined ? [{ blueprint: bp, bucketName: settings.bucketName ?? bp.PipelineName }] : []),
      ...settings.dashboard.analysisStacks.map(dashboardAnalysisOf),
    ];
    if (served.length === 0)
      throw new Error(
        "Stack config: neurocaas:dashboard serves no analysis: give the stack a blueprint or list analysis stack files in neurocaas:dashboard.analysisStacks",
      );
    const dashboard = new WebDashboard("dashboard", {
      region: requireRegion(settings, "to deploy the web dashboard"),
      namePrefix: settings.namePrefix,
      analyses: served.map((a) =>
        runtimeConfigFromBlueprint(a.blueprint, DASHBOARD_UTILS_STAND_IN, { bucketName: a.bucketName }),
      ),
      cognitoDomainPrefix: settings.dashboard.loginDomain,
      keySignIn: settings.dashboard.keySignIn,
    });
    dashboardOrigin = dashboard.origin;
    dashboardUrl = dashboard.url;
  }
  if (bp !== undefined && utilsOutputs !== undefined) {
    const pipeline = new AnalysisPipeline(
      bp.PipelineName,
      {
        blueprint: bp,
        ...(settings.bucketName !== undefined ? { bucketName: settings.bucketName } : {}),
        utils: utilsOutputs,
        corsOrigins: settings.corsOrigins,
        forceDestroy: settings.forceDestroy,
        logRetentionDays: settings.logRetentionDays,
        budgetParameterPrefix: settings.budgetParameterPrefix,
        bypassBuckets: settings.bypassBuckets,
        ...(dashboardOrigin !== undefined ? { dashboardOrigin } : {}),
      },
      { dependsOn: userResources },
    ); // group memberships name users created in this program
    analysis = {
      bucketName: pipeline.bucket.bucket,
      jobManagerFunction: pipeline.jobManager.name,
      monitorFunction: pipeline.monitor.name,
      ...(pipeline.postprocess !== undefined ? { postprocessFunction: pipeline.postprocess.name } : {}),
      groups: pipeline.groups.map((g) => g.name),
      iaeRoleArn: pipeline.iaeRole.arn,
      iaeInstanceProfileArn: pipeline.iaeInstanceProfile.arn,
      deadLetterQueueUrl: pipeline.deadLetterQueue.url,
    };
  }

  return {
    ...(exportedUtils !== undefined ? { utils: exportedUtils } : {}),
    ...(analysis !== undefined ? { analysis } : {}),
    ...(users !== undefined ? { users } : {}),
    ...(accountGuardFunction !== undefined ? { accountGuardFunction } : {}),
    ...(dashboardUrl !== undefined ? { dashboardUrl } : {}),
  };
}

/** The organization, project and stack the Pulumi engine runs this program as. */
export function currentStackIdentity(): StackIdentity {
  return { organization: pulumi.getOrganization(), project: pulumi.getProject(), stack: pulumi.getStack() };
}

/**
 * Reads fully qualified config keys (`neurocaas:blueprint`, `aws:region`) from the Pulumi
 * config of the running stack; structured values arrive as JSON text and are parsed.
 */
export function pulumiConfigGetter(key: string): unknown {
  const i = key.indexOf(":");
  const cfg = new pulumi.Config(key.slice(0, i));
  const raw = cfg.get(key.slice(i + 1));
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
