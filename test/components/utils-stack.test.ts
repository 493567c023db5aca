import { recordRegistrations, urnOf, type Registration } from "./registrations";
import { waitForProgram } from "../../cli/plan/record";
import { UtilsStack } from "../../components/utils-stack";

const registrations = recordRegistrations();
const ARGS = { region: "us-east-1", sshCidr: "10.0.0.0/8", keyName: "k", subnetIds: [] };

beforeAll(async () => {
  new UtilsStack("default", { ...ARGS, namePrefix: "neurocaas" });
  new UtilsStack("custom", { ...ARGS, namePrefix: "lab", vpcId: "vpc-0123abcd", subnetIds: ["subnet-0123abcd"] });
  await waitForProgram();
}, 60_000);

const of = (type: string, prefix: string): Registration[] =>
  registrations.filter((r) => r.type === type && r.name.startsWith(`${prefix}-`));
const SG = "aws:ec2/securityGroup:SecurityGroup";
const DEFAULT_VPC = "awsx:ec2:DefaultVpc";

describe("UtilsStack VPC", () => {
  it("looks the default VPC up with awsx's DefaultVpc and puts both security groups in it", () => {
    const [lookup] = of(DEFAULT_VPC, "default");
    expect(lookup.name).toBe("default-default-vpc");
    expect(lookup.parent).toBe(urnOf("neurocaas:components:UtilsStack", "default"));
    const sgs = of(SG, "default");
    expect(sgs.map((sg) => sg.name).sort()).toEqual(["default-dev-sg", "default-iae-sg"]);
    for (const sg of sgs) {
      expect(sg.inputs.vpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
      expect(sg.dependencies).toContain(lookup.monitorUrn);
    }
  });

  it("uses the configured VPC as given, without a lookup", () => {
    expect(of(DEFAULT_VPC, "custom")).toEqual([]);
    expect(of(SG, "custom").map((sg) => sg.inputs.vpcId)).toEqual(["vpc-0123abcd", "vpc-0123abcd"]);
  });
});
