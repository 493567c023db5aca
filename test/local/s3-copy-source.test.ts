import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../protocols/aws/s3-store";
import { createLocalS3Client, startLocalS3Server } from "../../local/s3-server";

describe("local S3 server: CopyObject of keys with reserved characters", () => {
  it("copies keys containing ':', spaces, '+' and '%' like S3 does", async () => {
    const s3 = await startLocalS3Server({ buckets: ["b"] });
    const client = createLocalS3Client(s3);
    try {
      const store = new S3ObjectStore(client);
      for (const key of ["job/logs/DATASET_NAME:a b+c_STATUS.txt", "job/logs/100%;done=1.txt"]) {
        await client.send(new PutObjectCommand({ Bucket: "b", Key: key, Body: Buffer.from(`body of ${key}`) }));
        await store.copy("b", key, "b", `copy/${key}`);
        const out = await client.send(new GetObjectCommand({ Bucket: "b", Key: `copy/${key}` }));
        expect(await out.Body!.transformToString()).toBe(`body of ${key}`);
      }
      // A header encoded the way decodeURI-only clients do it still works.
      await client.send(
        new CopyObjectCommand({
          Bucket: "b",
          Key: "copy/plain",
          CopySource: "b/job/logs/DATASET_NAME:a%20b+c_STATUS.txt",
        }),
      );
      expect(
        await (await client.send(new GetObjectCommand({ Bucket: "b", Key: "copy/plain" }))).Body!.transformToString(),
      ).toBe("body of job/logs/DATASET_NAME:a b+c_STATUS.txt");
    } finally {
      client.destroy();
      await s3.close();
    }
  });
});
