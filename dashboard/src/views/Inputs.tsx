import { useState } from "preact/hooks";
import { deleteKeys, describeError, listObjects } from "../api/s3";
import { formatBytes, formatTime } from "../lib/format";
import { ConfirmButton } from "./ConfirmButton";
import { ErrorBox, Panel, useAsync } from "./common";
import { useWorkspace } from "./context";
import { filesOf, UploadList, useUploads } from "./uploads";

/** The group's inputs: names and sizes (users may not read inputs back), upload, delete. */
export function Inputs() {
  const { place } = useWorkspace();
  const prefix = `${place.group}/inputs/`;
  const listing = useAsync(() => listObjects(place.client, place.bucket, prefix), [place]);
  const uploads = useUploads(place, listing.reload);
  const [problem, setProblem] = useState<string>();
  const files = (listing.data ?? []).filter((o) => o.key !== prefix && !o.key.endsWith("/"));
  const remove = async (keys: string[]) => {
    setProblem(undefined);
    try {
      const failed = await deleteKeys(place.client, place.bucket, keys);
      if (failed.length > 0) setProblem(`Not deleted: ${failed.join("; ")}`);
    } catch (err) {
      setProblem(describeError(err));
    }
    listing.reload();
  };
  return (
    <Panel
      title="Input data"
      actions={
        <>
          <label class="button">
            Upload files
            <input
              type="file"
              multiple
              data-testid="upload-files"
              onChange={(e) => {
                const t = e.target as HTMLInputElement;
                uploads.add(filesOf(t, prefix));
                t.value = "";
              }}
            />
          </label>
          <label class="button">
            Upload a folder
            <input
              type="file"
              multiple
              {...{ webkitdirectory: true }}
              data-testid="upload-folder"
              onChange={(e) => {
                const t = e.target as HTMLInputElement;
                uploads.add(filesOf(t, prefix));
                t.value = "";
              }}
            />
          </label>
        </>
      }
    >
      <p class="hint">
        Datasets you upload go to <code>{prefix}</code>. You can see their names and sizes; only the analysis reads
        their content.
      </p>
      <UploadList uploads={uploads} />
      <ErrorBox message={listing.error ?? problem} />
      {files.length === 0 && !listing.loading ? <p class="empty">No input data yet.</p> : null}
      <table class="list" data-testid="inputs">
        <tbody>
          {files.map((o) => (
            <tr key={o.key} data-key={o.key}>
              <td class="name">{o.key.slice(prefix.length)}</td>
              <td class="size">{formatBytes(o.size)}</td>
              <td class="time">{o.lastModified ? formatTime(o.lastModified) : ""}</td>
              <td class="actions">
                <ConfirmButton label="Delete" testId="delete-input" onConfirm={() => remove([o.key])} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}
