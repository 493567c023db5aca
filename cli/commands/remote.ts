import type { Command } from "commander";
import { createRemoteClients, type RemoteClientFactory } from "../remote/clients";
import { loadBlueprintForRemote, type RemoteContext } from "../remote/context";
import { resolveDevInfrastructure, type DevInfrastructureArgs } from "../remote/dev-infra";
import { createDevAmi, DEFAULT_IMAGE_WAIT_MINUTES, updateBlueprint } from "../remote/image-actions";
import {
  assignInstance,
  extendLifetime,
  getIp,
  getLifetime,
  launchDevInstance,
  listInstances,
  selectDevInstance,
  startDevInstance,
  stopDevInstance,
  terminateDevInstance,
} from "../remote/instance-actions";
import { jobOutput, jobStatus, parseJobIndex, submitJob } from "../remote/job-actions";
import { parsePositiveInteger, systemClock, type Clock } from "../remote/lifetime";

/** Injection points for tests; the CLI uses the real AWS clients, clock and stdout. */
export interface RemoteDeps {
  readonly clientFactory?: RemoteClientFactory;
  readonly clock?: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly out?: (line: string) => void;
}

interface CommonOptions {
  readonly stackFile?: string;
  readonly profile?: string;
  readonly region?: string;
}

export const STACK_FILE_ENV = "NEUROCAAS_STACK_FILE";

function common(cmd: Command): Command {
  return cmd
    .option("-f, --stack-file <file>", `the analysis blueprint (stack config YAML); default: $${STACK_FILE_ENV}`)
    .option("--profile <name>", "AWS profile from the shared config files")
    .option("--region <region>", "AWS region (default: the blueprint's REGION)");
}

export function register(program: Command, deps: RemoteDeps = {}): void {
  const factory = deps.clientFactory ?? createRemoteClients;
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const context = (opts: CommonOptions): RemoteContext => {
    const stackFile = opts.stackFile ?? process.env[STACK_FILE_ENV];
    if (!stackFile) throw new Error(`which analysis? pass --stack-file FILE (or set ${STACK_FILE_ENV})`);
    const { blueprint, bucket } = loadBlueprintForRemote(stackFile);
    return {
      stackFile,
      blueprint,
      bucket,
      clients: factory({ region: opts.region ?? blueprint.REGION, profile: opts.profile }),
      clock: deps.clock ?? systemClock,
      sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      out,
    };
  };

  const remote = program
    .command("remote")
    .description("development instances for building an analysis image (one pool of up to 4 per analysis)");

  common(
    remote
      .command("launch-devinstance")
      .description("launch a development instance of the blueprint's instance type and select it")
      .option("-a, --amiid <ami>", "image id or alias (ubuntu22, ubuntu24, dlami); default: the blueprint AMI")
      .option("-n, --name <name>", "a name to find the instance by")
      .option("-d, --description <text>", "what the instance is for")
      .option("-v, --volumesize <GB>", "root volume size in GB (default: the image's)")
      .option("-t, --timeout <minutes>", "lifetime in minutes", "60")
      .option("--utils-outputs <file>", "utils stack outputs JSON (pulumi stack output --json)")
      .option("--instance-profile <name-or-arn>", "instance profile (utils output iaeInstanceProfileArn)")
      .option("--key-name <name>", "SSH key pair (utils output keyName)")
      .option("--security-group <id>", "development security group (utils output devSecurityGroupId)")
      .option("--subnet <id>", "subnet (default: the default VPC's)"),
  ).action(
    async (
      opts: CommonOptions &
        DevInfrastructureArgs & {
          amiid?: string;
          name?: string;
          description?: string;
          volumesize?: string;
          timeout: string;
        },
    ) => {
      const infra = resolveDevInfrastructure(opts);
      await launchDevInstance(context(opts), {
        ami: opts.amiid,
        name: opts.name,
        description: opts.description,
        volumeSize: opts.volumesize,
        timeout: opts.timeout,
        infra,
      });
    },
  );

  common(
    remote
      .command("assign-instance")
      .description(
        "track an existing instance as a development instance, tag it like launch-devinstance (PriceTracking, Timeout, OwnerArn) and select it",
      )
      .requiredOption("-i, --instance <id>", "instance id")
      .option("-n, --name <name>", "a name to find the instance by")
      .option("-d, --description <text>", "what the instance is for")
      .option(
        "-t, --timeout <minutes>",
        "lifetime from now in minutes (Timeout tag, as launch-devinstance sets it)",
        "60",
      ),
  ).action(async (opts: CommonOptions & { instance: string; name?: string; description?: string; timeout: string }) => {
    await assignInstance(context(opts), {
      instanceId: opts.instance,
      name: opts.name,
      description: opts.description,
      timeout: opts.timeout,
    });
  });

  common(remote.command("list-instances").description("list the development instances (* = selected)")).action(
    async (opts: CommonOptions) => {
      await listInstances(context(opts));
    },
  );

  common(
    remote
      .command("select-instance")
      .description("select the development instance the other commands act on")
      .option("-i, --instance <id>", "instance id")
      .option("-n, --name <name>", "instance name"),
  ).action((opts: CommonOptions & { instance?: string; name?: string }) => {
    selectDevInstance(context(opts), { id: opts.instance, name: opts.name });
  });

  common(remote.command("get-ip").description("print the selected instance's IP address")).action(
    async (opts: CommonOptions) => {
      await getIp(context(opts));
    },
  );

  common(
    remote.command("get-lifetime").alias("get-timeout").description("minutes left before the instance's Timeout"),
  ).action(async (opts: CommonOptions) => {
    await getLifetime(context(opts));
  });

  common(
    remote
      .command("extend-lifetime")
      .alias("extend-timeout")
      .description("add minutes to the selected instance's lifetime")
      .requiredOption("-m, --minutes <minutes>", "minutes to add"),
  ).action(async (opts: CommonOptions & { minutes: string }) => {
    await extendLifetime(context(opts), opts.minutes);
  });

  common(
    remote
      .command("start-devinstance")
      .description("start the selected (stopped) instance; its lifetime starts again")
      .option("-t, --timeout <minutes>", "lifetime in minutes", "60"),
  ).action(async (opts: CommonOptions & { timeout: string }) => {
    await startDevInstance(context(opts), opts.timeout);
  });

  common(remote.command("stop-devinstance").description("stop the selected instance")).action(
    async (opts: CommonOptions) => {
      await stopDevInstance(context(opts));
    },
  );

  common(
    remote
      .command("terminate-devinstance")
      .description("terminate the selected instance (refused when no image was saved since it was started)")
      .option("--force", "terminate even without a saved image"),
  ).action(async (opts: CommonOptions & { force?: boolean }) => {
    await terminateDevInstance(context(opts), opts.force === true);
  });

  common(
    remote
      .command("create-devami")
      .description("save the selected instance as a machine image and wait until it is available")
      .requiredOption("-n, --name <name>", "image name (unique in the account and region)")
      .option(
        "-t, --timeout <minutes>",
        "give up waiting after this many minutes (the image keeps being created)",
        String(DEFAULT_IMAGE_WAIT_MINUTES),
      )
      .option("--no-wait", "return once EC2 accepted the request"),
  ).action(async (opts: CommonOptions & { name: string; timeout: string; wait: boolean }) => {
    await createDevAmi(context(opts), opts.name, {
      wait: opts.wait,
      timeoutMinutes: parsePositiveInteger(opts.timeout, "--timeout (minutes)"),
    });
  });

  common(
    remote
      .command("update-blueprint")
      .description("set the blueprint's AMI (default: the newest saved image) with before/after git commits")
      .option("-a, --amiid <ami>", "image id to use")
      .option("-m, --message <text>", "message for the two git commits"),
  ).action(async (opts: CommonOptions & { amiid?: string; message?: string }) => {
    await updateBlueprint(context(opts), { ami: opts.amiid, message: opts.message });
  });

  common(
    remote
      .command("submit-job")
      .description("run the blueprint COMMAND for a submit file on the selected instance (results/debugjob{time})")
      .requiredOption("-s, --submitpath <file>", "submit file (dataname, configname)"),
  ).action(async (opts: CommonOptions & { submitpath: string }) => {
    await submitJob(context(opts), opts.submitpath);
  });

  common(
    remote
      .command("job-status")
      .description("status of a debug job's SSM invocation")
      .option("-j, --job <index>", "job index: 0 = first, -1 = latest", "-1"),
  ).action(async (opts: CommonOptions & { job: string }) => {
    await jobStatus(context(opts), parseJobIndex(opts.job));
  });

  common(
    remote
      .command("job-output")
      .description("stdout and stderr of a debug job")
      .option("-j, --job <index>", "job index: 0 = first, -1 = latest", "-1"),
  ).action(async (opts: CommonOptions & { job: string }) => {
    await jobOutput(context(opts), parseJobIndex(opts.job));
  });
}
