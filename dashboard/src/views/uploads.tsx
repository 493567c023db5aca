import type { Upload } from "@aws-sdk/lib-storage";
import { useRef, useState } from "preact/hooks";
import { describeError, startUpload, type Place } from "../api/s3";
import { formatBytes } from "../lib/format";

type UploadState = "queued" | "uploading" | "done" | "failed" | "cancelled";

interface Item {
  readonly id: number;
  readonly file: File;
  readonly key: string;
  loaded: number;
  state: UploadState;
  error?: string;
  handle?: Upload;
}

/** Files uploaded at once; each large one also sends several parts in parallel. */
const FILES_AT_ONCE = 3;

/** An upload queue: progress per file, cancel, retry. `onDone` runs after each finished file. */
export function useUploads(place: Place, onDone: () => void) {
  const [items, setItems] = useState<Item[]>([]);
  const live = useRef<Item[]>([]);
  const nextId = useRef(1);
  const refresh = () => setItems([...live.current]);

  const pump = () => {
    while (live.current.filter((i) => i.state === "uploading").length < FILES_AT_ONCE) {
      const item = live.current.find((i) => i.state === "queued");
      if (!item) return;
      run(item);
    }
  };

  const run = (item: Item) => {
    item.state = "uploading";
    item.loaded = 0;
    item.error = undefined;
    item.handle = startUpload(place.client, place.bucket, item.key, item.file, (n) => {
      item.loaded = n;
      refresh();
    });
    refresh();
    item.handle.done().then(
      () => {
        item.state = "done";
        item.loaded = item.file.size;
        refresh();
        onDone();
        pump();
      },
      (err: unknown) => {
        if (item.state !== "cancelled") {
          item.state = "failed";
          item.error = describeError(err);
        }
        refresh();
        pump();
      },
    );
  };

  const add = (files: readonly { file: File; key: string }[]) => {
    for (const f of files)
      live.current.push({ id: nextId.current++, file: f.file, key: f.key, loaded: 0, state: "queued" });
    refresh();
    pump();
  };
  const cancel = (id: number) => {
    const item = live.current.find((i) => i.id === id);
    if (!item) return;
    const wasUploading = item.state === "uploading";
    item.state = "cancelled";
    refresh();
    if (wasUploading) void item.handle?.abort();
    pump();
  };
  const retry = (id: number) => {
    const item = live.current.find((i) => i.id === id);
    if (!item || (item.state !== "failed" && item.state !== "cancelled")) return;
    item.state = "queued";
    refresh();
    pump();
  };
  const clearFinished = () => {
    live.current = live.current.filter((i) => i.state === "uploading" || i.state === "queued");
    refresh();
  };
  return { items, add, cancel, retry, clearFinished };
}

export function UploadList({ uploads }: { uploads: ReturnType<typeof useUploads> }) {
  if (uploads.items.length === 0) return null;
  return (
    <div class="uploads" data-testid="uploads">
      <ul>
        {uploads.items.map((i) => (
          <li key={i.id} class={`upload upload-${i.state}`} data-testid="upload" data-state={i.state} data-key={i.key}>
            <span class="upload-name">{i.key.slice(i.key.indexOf("/", i.key.indexOf("/") + 1) + 1)}</span>
            <progress max={Math.max(1, i.file.size)} value={i.loaded} />
            <span class="upload-size">
              {formatBytes(i.loaded)} / {formatBytes(i.file.size)}
            </span>
            <span class="upload-state">{i.state}</span>
            {i.state === "uploading" || i.state === "queued" ? (
              <button type="button" onClick={() => uploads.cancel(i.id)}>
                Cancel
              </button>
            ) : null}
            {i.state === "failed" || i.state === "cancelled" ? (
              <button type="button" onClick={() => uploads.retry(i.id)}>
                Retry
              </button>
            ) : null}
            {i.error ? <span class="upload-error">{i.error}</span> : null}
          </li>
        ))}
      </ul>
      <button type="button" onClick={uploads.clearFinished}>
        Clear finished
      </button>
    </div>
  );
}

/** Files of an `<input type=file>` (with `webkitdirectory`, each keeps its folder path). */
export function filesOf(input: HTMLInputElement, prefix: string): { file: File; key: string }[] {
  return [...(input.files ?? [])].map((file) => ({
    file,
    key: `${prefix}${(file.webkitRelativePath || file.name).replace(/^\/+/, "")}`,
  }));
}
