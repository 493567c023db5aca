import { decodeEventKey } from "../model/layout";

/** An S3 event notification as Lambda receives it (keys URL-encoded). */
export interface S3NotificationEvent {
  readonly Records?: readonly {
    readonly eventName?: string;
    readonly s3: {
      readonly bucket: { readonly name: string };
      /** `versionId` (versioned buckets) and `sequencer` tell one upload of a key from the next. */
      readonly object: { readonly key: string; readonly versionId?: string; readonly sequencer?: string };
    };
  }[];
}

/** One created object of an S3 event, its key decoded once. */
export interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
  /** Which upload of the key this is (`versionId` or `sequencer`), when the event says. */
  readonly upload?: string;
}

/** The `ObjectCreated` records of an event (records without an event name count as created). */
export function createdObjects(event: S3NotificationEvent): CreatedObject[] {
  return (event.Records ?? [])
    .filter((r) => r.eventName === undefined || r.eventName.startsWith("ObjectCreated"))
    .map((r) => {
      const upload = r.s3.object.versionId || r.s3.object.sequencer || undefined;
      return {
        bucket: r.s3.bucket.name,
        key: safeDecode(r.s3.object.key),
        ...(upload ? { upload: String(upload) } : {}),
      };
    });
}

function safeDecode(key: string): string {
  try {
    return decodeEventKey(key);
  } catch {
    // A malformed escape: keep the raw key; validation will name it.
    return key;
  }
}
