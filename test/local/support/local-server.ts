import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { fallbackHourlyPrice, protocolHandlers } from "../../../local/protocol-handlers";
import type { LocalHandlers } from "../../../local/handlers";
import { startLocal, type LocalNeurocaas } from "../../../local/server";
import { writeStackFile, type TestAnalysisArgs } from "./stack";

export const REPO = path.resolve(__dirname, "../../..");

/** The COMMAND of an analysis run through the workflow CLI's run-main with an example script. */
export function runMainCommand(script: string): string {
  return `neurocaas workflow run-main "{}" "{}" "{}" "{}" ${script}`;
}

export interface LocalServerHandle {
  local: LocalNeurocaas;
  /** The test file's temp folder (the server's data dir is `data/` in it): room for inputs. */
  dir: string;
  /** Put a text object into the analysis bucket. */
  put(key: string, body: string): Promise<unknown>;
}

/** One local NeuroCAAS serving one analysis for a test file (temp data dir, 1 s per `__duration__` minute). */
export function useLocalServer(
  analysis: TestAnalysisArgs,
  handlers: LocalHandlers = protocolHandlers,
): LocalServerHandle {
  const handle = {} as LocalServerHandle;
  beforeAll(async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `neurocaas-${analysis.name}-`));
    handle.dir = dir;
    const stack = await writeStackFile(dir, analysis);
    handle.local = await startLocal({
      port: 0,
      dataDir: path.join(dir, "data"),
      stackFiles: [stack],
      repoRoot: REPO,
      handlers,
      fallbackPrice: fallbackHourlyPrice,
      secondsPerMinute: 1,
    });
    handle.put = (key, body) =>
      handle.local.client.send(new PutObjectCommand({ Bucket: analysis.name, Key: key, Body: Buffer.from(body) }));
  });
  afterAll(async () => {
    await handle.local?.close();
    if (handle.dir) await fsp.rm(handle.dir, { recursive: true, force: true });
  });
  return handle;
}
