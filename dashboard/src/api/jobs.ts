import { certificateKey, endMarkerKey } from "../../../model/layout";
import { terminateReasons } from "../../../protocols/certificate";
import { datasetState, jobPhase, STATUS_FILE, type DatasetState, type JobPhase } from "../../../protocols/job-view";
import { getObject, keyExists, listObjects, type ObjectInfo, type Place } from "./s3";

export interface JobSnapshot {
  readonly folder: string;
  /** `{group}/results/{folder}` */
  readonly prefix: string;
  readonly certificate?: string;
  readonly datasets: readonly DatasetState[];
  readonly finished: boolean;
  readonly phase: JobPhase;
  readonly reasons: readonly string[];
}

/** The job folder key of a folder name in the place's group. */
function jobPrefix(place: Place, folder: string): string {
  return `${place.group}/results/${folder}`;
}

/**
 * Reads a job's files and keeps their ETags, so every later `refresh` is a conditional GET per
 * file (304 when unchanged): cheap enough to poll every second.
 */
export class JobReader {
  private readonly bodies = new Map<string, { etag: string; text: string }>();
  private statusKeys: string[] = [];
  private polls = 0;

  constructor(
    private readonly place: Place,
    readonly folder: string,
  ) {}

  get prefix(): string {
    return jobPrefix(this.place, this.folder);
  }

  async refresh(): Promise<JobSnapshot> {
    const { client, bucket } = this.place;
    const prefix = this.prefix;
    // New status files appear while the job starts: list the logs now and then, not every second.
    const finishedP = keyExists(client, bucket, endMarkerKey(prefix));
    if (this.polls++ % 5 === 0 || this.statusKeys.length === 0) {
      const logs = await listObjects(client, bucket, `${prefix}/logs/`);
      this.statusKeys = logs
        .map((o) => o.key)
        .filter((k) => STATUS_FILE.test(k))
        .sort();
      if (!logs.some((o) => o.key === certificateKey(prefix))) this.bodies.delete(certificateKey(prefix));
      else await this.read(certificateKey(prefix));
    } else if (this.bodies.has(certificateKey(prefix))) {
      await this.read(certificateKey(prefix));
    }
    await Promise.all(this.statusKeys.map((k) => this.read(k)));
    const finished = await finishedP;
    const certificate = this.bodies.get(certificateKey(prefix))?.text;
    const datasets = this.statusKeys
      .filter((k) => this.bodies.has(k))
      .map((k) => datasetState(k.slice(k.lastIndexOf("/") + 1), this.bodies.get(k)!.text));
    return {
      folder: this.folder,
      prefix,
      certificate,
      datasets,
      finished,
      phase: jobPhase({ certificate, datasets, finished }),
      reasons: terminateReasons(certificate),
    };
  }

  private async read(key: string): Promise<void> {
    const known = this.bodies.get(key);
    const o = await getObject(this.place.client, this.place.bucket, key, known?.etag);
    if (o) this.bodies.set(key, { etag: o.etag, text: new TextDecoder().decode(o.body) });
  }
}

/** Every object of a job folder (the results tree). */
export function jobObjects(place: Place, folder: string): Promise<ObjectInfo[]> {
  return listObjects(place.client, place.bucket, `${jobPrefix(place, folder)}/`);
}
