import { useEffect, useState } from "preact/hooks";
import { jobObjects } from "../api/jobs";
import { deleteKeys, describeError, downloadUrl, getObject, type ObjectInfo } from "../api/s3";
import { formatBytes } from "../lib/format";
import { extensionOf, IMAGE_TYPES, parseDelimited, PREVIEW_LIMIT, previewKind } from "../lib/preview";
import { buildTree, filesOf, type TreeNode } from "../lib/tree";
import { ConfirmButton } from "./ConfirmButton";
import { ErrorBox, useAsync } from "./common";
import { useWorkspace } from "./context";

/** Folder downloads are zipped in the browser's memory; beyond this, use `neurocaas results`. */
const ZIP_LIMIT = 1024 * 1024 * 1024;

function save(url: string, name: string): void {
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.append(a);
  a.click();
  a.remove();
}

/** A job folder's files: tree, inline preview, download (file or folder), delete. */
export function Results({ folder, version }: { folder: string; version: number }) {
  const { place } = useWorkspace();
  const listing = useAsync(() => jobObjects(place, folder), [place, folder, version]);
  const [open, setOpen] = useState<ObjectInfo | undefined>();
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const prefix = `${place.group}/results/${folder}/`;
  const tree = buildTree(prefix, listing.data ?? []);

  const downloadFile = async (o: ObjectInfo) => {
    setProblem(undefined);
    try {
      save(await downloadUrl(place.client, place.bucket, o.key), o.key.slice(o.key.lastIndexOf("/") + 1));
    } catch (err) {
      setProblem(describeError(err));
    }
  };
  const downloadFolder = async (node: TreeNode) => {
    const files = filesOf(node);
    const total = files.reduce((s, f) => s + f.size, 0);
    if (total > ZIP_LIMIT) {
      setProblem(`This folder holds ${formatBytes(total)}: download it with \`neurocaas results\` instead.`);
      return;
    }
    setBusy(`Zipping ${files.length} file(s)…`);
    setProblem(undefined);
    try {
      const entries: Record<string, Uint8Array> = {};
      const base = node.path;
      for (const f of files)
        entries[f.key.slice(base.length)] = (await getObject(place.client, place.bucket, f.key))!.body;
      const { zipSync } = await import("fflate");
      const zip = zipSync(entries, { level: 6 });
      const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: "application/zip" }));
      save(url, `${node.name || folder}.zip`);
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setProblem(describeError(err));
    } finally {
      setBusy(undefined);
    }
  };
  const remove = async (keys: string[]) => {
    setProblem(undefined);
    try {
      const failed = await deleteKeys(place.client, place.bucket, keys);
      if (failed.length > 0) setProblem(`Not deleted: ${failed.join("; ")}`);
      if (open && keys.includes(open.key)) setOpen(undefined);
    } catch (err) {
      setProblem(describeError(err));
    }
    listing.reload();
  };

  const renderNode = (node: TreeNode, depth: number) =>
    node.object ? (
      <li key={node.path} class="file" data-key={node.path}>
        <a
          href="#"
          class={open?.key === node.path ? "selected" : ""}
          onClick={(e) => {
            e.preventDefault();
            setOpen(node.object);
          }}
          data-testid="result-file"
        >
          {node.name}
        </a>
        <small>{formatBytes(node.object.size)}</small>
        <button type="button" onClick={() => void downloadFile(node.object!)} data-testid="download-file">
          Download
        </button>
        <ConfirmButton label="Delete" testId="delete-result" onConfirm={() => remove([node.path])} />
      </li>
    ) : (
      <li key={node.path} class="folder" data-key={node.path}>
        <details open={depth < 1 || node.name === "process_results"}>
          <summary>
            {node.name}/ <small>{filesOf(node).length} file(s)</small>
            <button type="button" onClick={() => void downloadFolder(node)} data-testid="download-folder">
              Download .zip
            </button>
            <ConfirmButton
              label="Delete folder"
              testId="delete-folder"
              onConfirm={() => remove(filesOf(node).map((f) => f.key))}
            />
          </summary>
          <ul>{node.children.map((c) => renderNode(c, depth + 1))}</ul>
        </details>
      </li>
    );

  return (
    <div class="results" data-testid="results">
      <h3>
        Results and logs{" "}
        <button type="button" onClick={() => void downloadFolder({ ...tree, name: folder })} data-testid="download-job">
          Download all (.zip)
        </button>
      </h3>
      <ErrorBox message={listing.error ?? problem} />
      {busy ? <p class="busy">{busy}</p> : null}
      <div class="results-body">
        <ul class="tree" data-testid="result-tree">
          {tree.children.map((c) => renderNode(c, 0))}
        </ul>
        {open ? <Preview key={`${open.key}|${open.etag}`} object={open} /> : null}
      </div>
    </div>
  );
}

/** Text, JSON, YAML, CSV or an image, inline. */
function Preview({ object }: { object: ObjectInfo }) {
  const { place } = useWorkspace();
  const kind = previewKind(object.key);
  const [imageUrl, setImageUrl] = useState<string>();
  const content = useAsync(async () => {
    if (kind === "binary" || object.size > PREVIEW_LIMIT) return undefined;
    return (await getObject(place.client, place.bucket, object.key))!.body;
  }, [place, object.key, object.etag]);
  useEffect(() => {
    if (kind !== "image" || !content.data) return undefined;
    // Shown as an <img>: an SVG's scripts never run there.
    const url = URL.createObjectURL(
      new Blob([content.data as Uint8Array<ArrayBuffer>], {
        type: IMAGE_TYPES[extensionOf(object.key)] ?? "application/octet-stream",
      }),
    );
    setImageUrl(url);
    return () => URL.revokeObjectURL(url);
  }, [content.data, kind, object.key]);
  const name = object.key.slice(object.key.lastIndexOf("/") + 1);
  let body;
  if (kind === "binary") body = <p class="empty">No preview for this file type; download it.</p>;
  else if (object.size > PREVIEW_LIMIT)
    body = <p class="empty">Too large to preview ({formatBytes(object.size)}); download it.</p>;
  else if (content.error) body = <ErrorBox message={content.error} />;
  else if (!content.data) body = <p class="busy">Loading…</p>;
  else if (kind === "image") body = imageUrl ? <img src={imageUrl} alt={name} data-testid="preview-image" /> : null;
  else {
    const text = new TextDecoder().decode(content.data);
    if (kind === "csv") {
      const rows = parseDelimited(text, extensionOf(object.key) === "tsv" ? "\t" : ",");
      body = (
        <table class="csv" data-testid="preview-csv">
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>{r.map((c, j) => (i === 0 ? <th key={j}>{c}</th> : <td key={j}>{c}</td>))}</tr>
            ))}
          </tbody>
        </table>
      );
    } else if (kind === "json") {
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // shown as it is
      }
      body = <pre data-testid="preview-text">{pretty}</pre>;
    } else body = <pre data-testid="preview-text">{text}</pre>;
  }
  return (
    <div class="preview" data-testid="preview" data-key={object.key}>
      <h4>{name}</h4>
      {body}
    </div>
  );
}
