/**
 * The IAE side shares its status file with the platform: its periodic rewrites keep what the
 * platform recorded meanwhile (the command id the monitor writes after SSM accepted the command).
 */
import { S3LogSink } from "../../cli/workflow/log-sinks";
import { buildStatusDoc } from "../../protocols/dataset-status";
import { datasetStatusKey } from "../../model/layout";
import { useLocalS3 } from "../support/local-s3";

const s3 = useLocalS3(["sinkbucket"]);

describe("S3LogSink.writeStatus", () => {
  it("keeps platform fields written after the IAE read the status file (no lost command id)", async () => {
    const jobFolder = "lab/results/job__sinkbucket_t1";
    const key = datasetStatusKey(jobFolder, "lab/inputs/d.txt");
    await s3.store.put(
      "sinkbucket",
      key,
      JSON.stringify({
        status: "INITIALIZING",
        reason: [],
        input: "lab/inputs/d.txt",
        instance: "i-1",
        command: null,
        job: "job__sinkbucket_t1",
      }),
    );
    const sink = new S3LogSink({ client: s3.client, bucket: "sinkbucket", jobFolder, datasetKey: "lab/inputs/d.txt" });
    const existing = await sink.readStatus();
    const progress = (status: "IN PROGRESS" | "SUCCESS") =>
      buildStatusDoc(existing, {
        status,
        reason: "running",
        input: "lab/inputs/d.txt",
        jobStart: new Date(0),
        std: {},
      });
    await sink.writeStatus(progress("IN PROGRESS"));
    // The monitor records the accepted command meanwhile.
    const now = JSON.parse((await s3.store.get("sinkbucket", key))!.body);
    await s3.store.put("sinkbucket", key, JSON.stringify({ ...now, command: "cmd-7" }));
    await sink.writeStatus(progress("SUCCESS"));
    expect(JSON.parse((await s3.store.get("sinkbucket", key))!.body)).toMatchObject({
      status: "SUCCESS",
      command: "cmd-7",
      instance: "i-1",
      job: "job__sinkbucket_t1",
    });
  });
});
