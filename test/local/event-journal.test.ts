import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EventJournal } from "../../local/event-journal";
import { lambdaS3Event } from "../../local/events";

describe("EventJournal", () => {
  it("keeps unfinished events across reopen and forgets finished ones", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "journal-"));
    try {
      const file = path.join(dir, "j", "events.json");
      const first = await EventJournal.open(file);
      expect(first.pending()).toEqual([]);
      const a = await first.add({
        route: "submit",
        bucket: "b",
        event: lambdaS3Event("us-east-1", "b", "lab/submissions/a submit.json", "ObjectCreated:Put"),
      });
      const b = await first.add({
        route: "postprocess",
        bucket: "b",
        event: lambdaS3Event("us-east-1", "b", "lab/results/job__b_1/process_results/end.txt", "ObjectCreated:Put"),
      });
      await first.remove(a.id);
      await first.remove("unknown");
      const second = await EventJournal.open(file);
      expect(second.pending()).toEqual([b]);
      expect(second.pending()[0].event.Records[0].s3.object.key).toBe("lab/results/job__b_1/process_results/end.txt");

      await fsp.writeFile(file, "{broken");
      await expect(EventJournal.open(file)).rejects.toThrow(/cannot read the event journal/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
