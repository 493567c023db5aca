/**
 * Local mode has the cloud's guarantees: a job manager cut short by a server crash leaves a claim
 * that the restarted server (a new run: the old holder is provably gone) takes over at once, and
 * the job runs to its end.
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { jobRecordKey } from "../../protocols/job-record";
import type { ObjectStore } from "../../protocols/storage";
import { fallbackHourlyPrice, protocolHandlers } from "../../local/protocol-handlers";
import { startLocal, type LocalNeurocaas } from "../../local/server";
import type { LocalHandlers } from "../../local/handlers";
import { readJobState, waitForJob } from "../../cli/user/job-state";
import { writeStackFile } from "./support/stack";

jest.setTimeout(120_000);
const REPO = path.resolve(__dirname, "../..");

describe("local mode: a claim of a crashed server run", () => {
  let dir: string;
  let stacks: string[];
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "neurocaas-takeover-"));
    stacks = [await writeStackFile(dir, { name: "takeover", command: 'echo "ran {} {} {} {}"' })];
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });
  const start = (handlers: LocalHandlers): Promise<LocalNeurocaas> =>
    startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: stacks,
      repoRoot: REPO,
      handlers,
      fallbackPrice: fallbackHourlyPrice,
      secondsPerMinute: 1,
    });

  it("is taken over at once by the restarted server, which runs the job to end.txt (not left at STEP 1/4 for ever)", async () => {
    // First run: the job manager claims the job, then the server dies before it writes anything else.
    let crash!: (err: Error) => void;
    const crashed = new Promise<never>((_, reject) => (crash = reject));
    crashed.catch(() => undefined);
    let reachedCrash!: () => void;
    const atCrash = new Promise<void>((r) => (reachedCrash = r));
    const dying: LocalHandlers = {
      ...protocolHandlers,
      submit: (event, deps) => {
        const s = deps.store;
        const store: ObjectStore = {
          ...s,
          get: (b, k) => s.get(b, k),
          exists: (b, k) => s.exists(b, k),
          prefixExists: (b, p) => s.prefixExists(b, p),
          list: (b, p, l) => s.list(b, p, l),
          delete: (b, k) => s.delete(b, k),
          copy: (a, b, c, d) => s.copy(a, b, c, d),
          put: async (b, k, body, o) => {
            if (k.startsWith("logs/_jobs/")) return s.put(b, k, body, o);
            reachedCrash();
            return crashed;
          },
        };
        return protocolHandlers.submit(event, { ...deps, store });
      },
    };
    const first = await start(dying);
    const ref = { bucket: "takeover", group: "lab", job: "t1" };
    await first.client.send(
      new PutObjectCommand({ Bucket: "takeover", Key: "lab/inputs/d.txt", Body: Buffer.from("d") }),
    );
    await first.client.send(
      new PutObjectCommand({ Bucket: "takeover", Key: "lab/configs/c.json", Body: Buffer.from("{}") }),
    );
    await first.client.send(
      new PutObjectCommand({
        Bucket: "takeover",
        Key: "lab/submissions/submit.json",
        Body: Buffer.from(
          JSON.stringify({ dataname: "lab/inputs/d.txt", configname: "lab/configs/c.json", timestamp: "t1" }),
        ),
      }),
    );
    await atCrash;
    expect(await readRecord(first, jobRecordKey("lab", "job__takeover_t1"))).toMatchObject({ state: "claimed" });
    const closing = first.close();
    crash(new Error("server killed"));
    await closing;

    // Second run: the journaled event is replayed, the old run's claim is taken over.
    const second = await start(protocolHandlers);
    try {
      const state = await waitForJob(second.client, ref, { intervalMs: 300, timeoutMs: 30_000 });
      expect(state.certificate).toContain(
        "An earlier attempt at this job stopped before launching anything; starting it again.",
      );
      expect(state.certificate).toContain("[Job Manager] STEP 4/4 (Initialize Processing): DONE");
      expect(state.datasets.map((d) => d.status)).toEqual(["SUCCESS"]);
      expect((await readJobState(second.client, ref)).finished).toBe(true);
    } finally {
      await second.close();
    }
  });
});

async function readRecord(local: LocalNeurocaas, key: string): Promise<unknown> {
  try {
    const res = await local.client.send(new GetObjectCommand({ Bucket: "takeover", Key: key }));
    return JSON.parse(await res.Body!.transformToString());
  } catch {
    return undefined;
  }
}
