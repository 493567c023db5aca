import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Ec2ComputeBackend } from "../../protocols/aws/ec2-compute";
import { ParameterStoreExemptions, parseInstanceList } from "../../protocols/aws/ssm-parameters";
import type { GuardDeps } from "../../protocols/deps";
import { runGuard } from "../../protocols/run";
import { AwsWorld } from "../support/aws-world";
import { FakeClock } from "../support/protocol-env";

const clock = new FakeClock();
const world = new AwsWorld(() => clock.now());
afterAll(() => world.restore());

function guardDeps(): GuardDeps {
  const ssm = new SSMClient({ region: "us-east-1" });
  return {
    compute: new Ec2ComputeBackend({
      ec2: new EC2Client({ region: "us-east-1" }),
      ssm,
      cloudwatch: new CloudWatchClient({ region: "us-east-1" }),
      now: clock.now,
      sleep: clock.sleep,
      launchRetryMs: 1000,
    }),
    exemptions: new ParameterStoreExemptions(ssm),
    clock,
  };
}

describe("account guard", () => {
  it("stops (spot: terminates) IAEs past their Timeout that run no command, and keeps the others", async () => {
    const hoursAgo = (h: number) => new Date(clock.now().getTime() - h * 3_600_000);
    const idle = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "60", PriceTracking: "On" },
      launchTime: hoursAgo(2),
    });
    const idleSpot = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "60", PriceTracking: "On" },
      launchTime: hoursAgo(2),
      spot: true,
    });
    const exempt = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "60", PriceTracking: "On" },
      launchTime: hoursAgo(5),
    });
    const busy = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "30", PriceTracking: "On" },
      launchTime: hoursAgo(1),
    });
    const young = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "300", PriceTracking: "On" },
      launchTime: hoursAgo(2),
    });
    const untracked = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "5" },
      launchTime: hoursAgo(3),
    });
    const unmanaged = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Name: "web server" },
      launchTime: hoursAgo(100),
    });
    const stuck = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "30", PriceTracking: "On" },
      launchTime: hoursAgo(1),
    });
    const working = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "30", PriceTracking: "On" },
      launchTime: hoursAgo(1),
    });
    world.commands.push({ commandId: "cmd-stuck", instanceId: stuck.id, parameters: {}, status: "InProgress" });
    world.commands.push({ commandId: "cmd-working", instanceId: working.id, parameters: {}, status: "InProgress" });
    world.cpu.set(stuck.id, [0.4, 0.3, 0.5, 0.2, 0.1, 0.3]);
    world.cpu.set(working.id, [0.4, 0.3, 55, 0.2, 0.1, 0.3]);
    const finishedCommand = world.addInstance({
      type: "t2.micro",
      imageId: "ami-01",
      tags: { Timeout: "10", PriceTracking: "On" },
      launchTime: hoursAgo(1),
    });
    world.commands.push({ commandId: "cmd-busy", instanceId: busy.id, parameters: {}, status: "InProgress" });
    world.commands.push({ commandId: "cmd-done", instanceId: finishedCommand.id, parameters: {}, status: "Success" });
    world.parameters.set("exempt_instances", `${exempt.id},i-0000000000000dead`);

    const decisions = await runGuard({ "detail-type": "Scheduled Event" }, guardDeps());
    const byId = Object.fromEntries(decisions.map((d) => [d.instanceId, d]));
    expect(byId[idle.id]).toMatchObject({
      action: "stopped",
      reason: "past its Timeout of 60 min and running no command",
    });
    expect(byId[idleSpot.id].action).toBe("terminated");
    expect(byId[exempt.id]).toMatchObject({ action: "kept", reason: "exempt" });
    expect(byId[busy.id]).toMatchObject({
      action: "kept",
      reason: "past its Timeout of 30 min but running command cmd-busy",
    });
    expect(byId[young.id]).toMatchObject({ action: "kept", reason: "within its Timeout" });
    expect(byId[finishedCommand.id].action).toBe("stopped");
    expect(byId[unmanaged.id]).toBeUndefined();
    expect(byId[untracked.id]).toBeUndefined();
    expect(byId[stuck.id]).toMatchObject({ action: "stopped", reason: "past its Timeout of 30 min and idle" });
    expect(byId[working.id].action).toBe("kept");

    expect(idle.state).toBe("stopped");
    expect(idleSpot.state).toBe("terminated");
    expect(finishedCommand.state).toBe("stopped");
    expect(stuck.state).toBe("stopped");
    for (const kept of [exempt, busy, young, unmanaged, untracked, working]) expect(kept.state).toBe("running");
  });

  it("reads exemptions as a StringList or a JSON list", () => {
    expect(parseInstanceList("i-1, i-2,i-3")).toEqual(["i-1", "i-2", "i-3"]);
    expect(parseInstanceList('["i-1", "i-2"]')).toEqual(["i-1", "i-2"]);
    expect(parseInstanceList("  ")).toEqual([]);
  });
});
