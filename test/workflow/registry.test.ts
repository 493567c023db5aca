import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { startLocalS3Server, createLocalS3Client, type LocalS3Server } from "../../local/s3-server";
import { initializeJob, readRegistration, storageFilePath } from "../../cli/workflow/state";
import { WorkflowJob } from "../../cli/workflow/registry";

const BUCKET = "wfbucket";

describe("workflow job against a local S3 endpoint", () => {
  let server: LocalS3Server;
  let client: S3Client;
  let tmp: string;
  let home: string;
  let notes: string[];

  const put = (key: string, body: string | Buffer) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const get = async (key: string): Promise<Buffer> => {
    const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  };
  const job = () => new WorkflowJob({ home, s3: () => client, note: (m) => notes.push(m) });

  beforeAll(async () => {
    server = await startLocalS3Server({ buckets: [BUCKET] });
    client = createLocalS3Client(server);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nc-wf-"));
    home = path.join(tmp, "home");
    fs.mkdirSync(home);
    notes = [];
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("initialize-job writes the state file and an empty registration", () => {
    const dir = initializeJob(path.join(tmp, "job"), home);
    expect(JSON.parse(fs.readFileSync(storageFilePath(home), "utf8"))).toEqual({ path: dir });
    expect(readRegistration(dir)).toEqual({ data: {}, config: {}, additional_files: {}, resultpath: {} });
  });

  it("every command needs an initialized job", () => {
    expect(() => job()).toThrow(/no job initialized .*initialize-job -p DIR/);
  });

  it("registers S3 inputs, derives the result path from the group, fetches and uploads", async () => {
    await put("grp/inputs/data 1.csv", "1,2\n3,4\n");
    await put("grp/configs/cfg.yaml", "n_components: 1\n");
    const dir = initializeJob(path.join(tmp, "job"), home);
    const j = job();
    j.registerDataset({ bucket: BUCKET, key: "grp/inputs/data 1.csv" });
    j.registerConfig({ bucket: BUCKET, key: "grp/configs/cfg.yaml" });
    j.registerResultpath({ bucket: BUCKET, key: "results/job__wfbucket_1" });
    expect(j.registration().resultpath).toEqual({ s3: `s3://${BUCKET}/grp/results/job__wfbucket_1` });
    expect(j.group()).toBe("grp");
    expect(j.bucket()).toBe(BUCKET);
    expect(j.name("data")).toBe("data 1.csv");
    expect(() => j.localPath("data")).toThrow(/has not been fetched yet: run `neurocaas workflow get-data` first/);

    const data = await j.fetch("data");
    expect(data).toBe(path.join(dir, "inputs", "data 1.csv"));
    expect(fs.readFileSync(data, "utf8")).toBe("1,2\n3,4\n");
    expect(await j.fetch("config")).toBe(path.join(dir, "configs", "cfg.yaml"));
    expect(j.localPath("config")).toBe(path.join(dir, "configs", "cfg.yaml"));

    // An existing target is kept without -f (and a note says so); -f fetches again.
    fs.writeFileSync(data, "local edit");
    await j.fetch("data");
    expect(fs.readFileSync(data, "utf8")).toBe("local edit");
    expect(notes.join("\n")).toMatch(/already exists .*use -f/);
    await j.fetch("data", { force: true });
    expect(fs.readFileSync(data, "utf8")).toBe("1,2\n3,4\n");

    const out = j.resultpathTmp();
    fs.writeFileSync(path.join(out, "r.txt"), "result");
    fs.mkdirSync(path.join(out, "plots/deep"), { recursive: true });
    fs.writeFileSync(path.join(out, "plots/deep/p.svg"), "<svg/>");
    expect(j.resultpathFor(path.join(out, "r.txt"))).toBe(
      `s3://${BUCKET}/grp/results/job__wfbucket_1/process_results/r.txt`,
    );
    await j.putResult(path.join(out, "r.txt"));
    await j.putResult(path.join(out, "plots"));
    expect((await get("grp/results/job__wfbucket_1/process_results/r.txt")).toString()).toBe("result");
    expect((await get("grp/results/job__wfbucket_1/process_results/plots/deep/p.svg")).toString()).toBe("<svg/>");

    await j.cleanup();
    await j.cleanup();
    expect((await get("grp/results/job__wfbucket_1/process_results/cfg.yaml")).toString()).toBe("n_components: 1\n");
    expect((await get("grp/results/job__wfbucket_1/process_results/update.txt")).length).toBe(0);
    await expect(get("grp/results/job__wfbucket_1/process_results/end.txt")).rejects.toThrow();
  });

  it("fetches a folder dataset (prefix) and registered extra files", async () => {
    await put("grp/inputs/set/", "");
    await put("grp/inputs/set/a.txt", "A");
    await put("grp/inputs/set/sub/b.txt", "B");
    await put("grp/inputs/model.bin", Buffer.from([9, 8, 7]));
    initializeJob(path.join(tmp, "job"), home);
    const j = job();
    j.registerDataset({ bucket: BUCKET, key: "grp/inputs/set/" });
    const dest = path.join(tmp, "elsewhere");
    const got = await j.fetch("data", { outDir: dest });
    expect(got).toBe(path.join(dest, "set"));
    expect(fs.readFileSync(path.join(got, "sub/b.txt"), "utf8")).toBe("B");
    // A key without trailing slash that names a folder works too.
    j.registerDataset({ bucket: BUCKET, key: "grp/inputs/set" });
    expect(fs.readFileSync(path.join(await j.fetch("data", { force: true }), "a.txt"), "utf8")).toBe("A");

    j.registerFile("model", { bucket: BUCKET, key: "grp/inputs/model.bin" });
    expect(j.fileName("model")).toBe("model.bin");
    expect(() => j.filePath("model")).toThrow(/get-file -n model/);
    const model = await j.fetchFile("model");
    expect([...fs.readFileSync(model)]).toEqual([9, 8, 7]);
    expect(j.filePath("model")).toBe(model);
    await expect(j.fetchFile("nope")).rejects.toThrow(/no file registered under the name "nope"/);
  });

  it("uploads and downloads multipart-sized files byte for byte", async () => {
    initializeJob(path.join(tmp, "job"), home);
    const big = crypto.randomBytes(9 * 1024 * 1024 + 123);
    const src = path.join(tmp, "big.bin");
    fs.writeFileSync(src, big);
    const j = job();
    j.registerDataset({ bucket: BUCKET, key: "grp/inputs/big.bin" });
    j.registerResultpath({ bucket: BUCKET, key: "results/job__big" });
    await j.putResult(src);
    const stored = await get("grp/results/job__big/process_results/big.bin");
    expect(stored.equals(big)).toBe(true);
    await put("grp/inputs/big.bin", stored);
    const fetched = await j.fetch("data");
    expect(fs.readFileSync(fetched).equals(big)).toBe(true);
  });

  it("reports missing inputs and wrong argument combinations clearly", async () => {
    initializeJob(path.join(tmp, "job"), home);
    const j = job();
    expect(() => j.registerDataset({ bucket: BUCKET })).toThrow(
      "register-dataset: pass either -b BUCKET -k KEY (a file in S3) or -l LOCALPATH (a local file), not both or neither",
    );
    expect(() => j.registerConfig({ bucket: BUCKET, key: "k", localpath: "/tmp" })).toThrow(/not both or neither/);
    expect(() => j.registerResultpath({ bucket: BUCKET, key: "results/x" })).toThrow(
      /needs a dataset registered from S3 first/,
    );
    await expect(j.fetch("data")).rejects.toThrow(/no dataset registered/);
    expect(() => j.resultBase()).toThrow(/no result path registered/);
    j.registerDataset({ bucket: BUCKET, key: "grp/inputs/absent.csv" });
    await expect(j.fetch("data")).rejects.toThrow(`s3://${BUCKET}/grp/inputs/absent.csv does not exist`);
    j.registerResultpath({ bucket: BUCKET, key: "s3://elsewhere/out/job__x/" });
    expect(j.registration().resultpath.s3).toBe("s3://elsewhere/out/job__x/");
    expect(j.resultpathFor(path.join(tmp, "r.txt"))).toBe("s3://elsewhere/out/job__x/process_results/r.txt");
    await expect(j.putResult(path.join(tmp, "nothing"))).rejects.toThrow(/does not exist/);
  });

  it("works fully locally: -l registrations copy files and results go to a local folder", async () => {
    const src = path.join(tmp, "d.csv");
    fs.writeFileSync(src, "5,6\n");
    initializeJob(path.join(tmp, "job"), home);
    const j = job();
    j.registerDataset({ localpath: src });
    j.registerConfig({ localpath: src });
    j.registerResultpath({ localpath: path.join(tmp, "res") });
    expect(() => j.group()).toThrow(/needs a dataset registered from S3/);
    const data = await j.fetch("data");
    expect(fs.readFileSync(data, "utf8")).toBe("5,6\n");
    expect(fs.readFileSync(src, "utf8")).toBe("5,6\n");
    await j.putResult(data);
    expect(fs.readFileSync(path.join(tmp, "res/process_results/d.csv"), "utf8")).toBe("5,6\n");
  });

  it("stores -l paths as given, even before they exist, and keeps a result path's trailing slash (as the original's tests expect)", async () => {
    const dir = initializeJob(path.join(tmp, "job"), home);
    const j = job();
    j.registerDataset({ bucket: "bucketname", key: "groupname/inputs/zz.txt" });
    j.registerResultpath({ bucket: "bucketname", key: "keypath/" });
    expect(readRegistration(dir).resultpath).toEqual({ s3: "s3://bucketname/groupname/keypath/" });
    j.registerResultpath({ localpath: "localoutpath/" });
    expect(readRegistration(dir).resultpath).toEqual({ localsource: "localoutpath/" });
    j.registerDataset({ localpath: "localpath/file.txt" });
    j.registerConfig({ localpath: "localpath/file.txt" });
    j.registerFile("filename", { localpath: "localpath/file.txt" });
    const reg = readRegistration(dir);
    expect([reg.data, reg.config, reg.additional_files.filename]).toEqual([
      { localsource: "localpath/file.txt" },
      { localsource: "localpath/file.txt" },
      { localsource: "localpath/file.txt" },
    ]);
    expect(notes).toContain("register-dataset: localpath/file.txt does not exist yet; registered as given");
    await expect(j.fetch("data")).rejects.toThrow(
      `the registered dataset localpath/file.txt does not exist (relative to ${process.cwd()})`,
    );
  });
});
