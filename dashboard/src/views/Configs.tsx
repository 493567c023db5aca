import { useEffect, useMemo, useState } from "preact/hooks";
import { deleteKeys, describeError, getText, listObjects, putText } from "../api/s3";
import {
  checkConfig,
  configText,
  fieldsOfSchema,
  RESERVED_FIELDS,
  valuesFromForm,
  type FormField,
} from "../lib/config-form";
import { formatTime } from "../lib/format";
import { ConfirmButton } from "./ConfirmButton";
import { ErrorBox, Panel, useAsync } from "./common";
import { useWorkspace } from "./context";
import { filesOf, UploadList, useUploads } from "./uploads";

const CONFIG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.(json|ya?ml)$/i;

/** The group's configs: upload, view, edit (text or a form from the analysis' schema), delete. */
export function Configs() {
  const { place } = useWorkspace();
  const prefix = `${place.group}/configs/`;
  const listing = useAsync(() => listObjects(place.client, place.bucket, prefix), [place]);
  const uploads = useUploads(place, listing.reload);
  const [open, setOpen] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  const configs = (listing.data ?? []).filter(
    (o) => o.key !== prefix && !o.key.endsWith("/") && !o.key.slice(prefix.length).includes("/"),
  );
  return (
    <Panel
      title="Configs"
      actions={
        <>
          <button
            type="button"
            onClick={() => {
              setCreating(true);
              setOpen(undefined);
            }}
            data-testid="new-config"
          >
            New config
          </button>
          <label class="button">
            Upload configs
            <input
              type="file"
              multiple
              accept=".json,.yaml,.yml"
              data-testid="upload-configs"
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
      <UploadList uploads={uploads} />
      <ErrorBox message={listing.error} />
      {creating ? (
        <ConfigForm
          prefix={prefix}
          onSaved={(key) => {
            setCreating(false);
            listing.reload();
            setOpen(key);
          }}
          onCancel={() => setCreating(false)}
        />
      ) : null}
      <table class="list" data-testid="configs">
        <tbody>
          {configs.map((o) => (
            <tr key={o.key} data-key={o.key} class={open === o.key ? "selected" : ""}>
              <td class="name">
                <a
                  href="#"
                  onClick={(e) => {
                    e.preventDefault();
                    setOpen(o.key);
                    setCreating(false);
                  }}
                >
                  {o.key.slice(prefix.length)}
                </a>
              </td>
              <td class="time">{o.lastModified ? formatTime(o.lastModified) : ""}</td>
              <td class="actions">
                <ConfirmButton
                  label="Delete"
                  testId="delete-config"
                  onConfirm={async () => {
                    await deleteKeys(place.client, place.bucket, [o.key]);
                    if (open === o.key) setOpen(undefined);
                    listing.reload();
                  }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {configs.length === 0 && !listing.loading ? <p class="empty">No configs yet.</p> : null}
      {open ? <ConfigEditor key={open} configKey={open} onSaved={listing.reload} /> : null}
    </Panel>
  );
}

/** View and edit one config as text, checked as the job manager will check it before saving. */
function ConfigEditor({ configKey, onSaved }: { configKey: string; onSaved: () => void }) {
  const { place } = useWorkspace();
  const original = useAsync(() => getText(place.client, place.bucket, configKey), [place, configKey]);
  const [text, setText] = useState<string | undefined>();
  const [status, setStatus] = useState<string>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => setText(original.data), [original.data]);
  const check = useMemo(() => (text === undefined ? undefined : checkConfig(configKey, text)), [configKey, text]);
  const save = async () => {
    if (text === undefined || !check?.ok) return;
    setProblem(undefined);
    try {
      await putText(
        place.client,
        place.bucket,
        configKey,
        text,
        configKey.endsWith(".json") ? "application/json" : "application/yaml",
      );
      setStatus(`Saved ${formatTime(new Date())}`);
      onSaved();
    } catch (err) {
      setProblem(describeError(err));
    }
  };
  return (
    <div class="editor" data-testid="config-editor">
      <h3>{configKey}</h3>
      <ErrorBox message={original.error ?? problem} />
      <textarea
        spellcheck={false}
        rows={14}
        value={text ?? ""}
        onInput={(e) => {
          setText((e.target as HTMLTextAreaElement).value);
          setStatus(undefined);
        }}
        data-testid="config-text"
      />
      {check && !check.ok ? (
        <ul class="problems" data-testid="config-problems">
          {check.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : check ? (
        <p class="hint">
          Runs up to {check.durationMinutes} min{check.datasetSizeGb ? `, ${check.datasetSizeGb} GB extra disk` : ""}.
        </p>
      ) : null}
      <button
        type="button"
        class="primary"
        disabled={!check?.ok || text === original.data}
        onClick={() => void save()}
        data-testid="save-config"
      >
        Save
      </button>
      {status ? <span class="saved">{status}</span> : null}
    </div>
  );
}

/** A new config from a form: the analysis' schema fields (if any) and the reserved keys. */
function ConfigForm({
  prefix,
  onSaved,
  onCancel,
}: {
  prefix: string;
  onSaved: (key: string) => void;
  onCancel: () => void;
}) {
  const { place, analysis } = useWorkspace();
  const fields = useMemo(() => [...fieldsOfSchema(analysis.configSchema), ...RESERVED_FIELDS], [analysis]);
  const [name, setName] = useState("config.yaml");
  const [raw, setRaw] = useState<Record<string, string | boolean | undefined>>(() =>
    Object.fromEntries(
      fields
        .filter((f) => f.default !== undefined)
        .map((f) => [f.name, typeof f.default === "boolean" ? f.default : String(f.default)]),
    ),
  );
  const [extra, setExtra] = useState("");
  const [problems, setProblems] = useState<string[]>([]);
  const save = async () => {
    const { values, problems: formProblems } = valuesFromForm(fields, raw);
    const all = [...formProblems];
    if (!CONFIG_NAME.test(name))
      all.push("The file name must end in .yaml, .yml or .json and use letters, digits, '.', '_' or '-'.");
    let merged: Record<string, unknown> = { ...values };
    if (extra.trim() !== "") {
      const parsed = checkConfig("extra.yaml", extra);
      if (!parsed.ok) all.push(...parsed.problems.map((p) => `Other parameters: ${p}`));
      else merged = { ...parsed.values, ...values };
    }
    const key = `${prefix}${name}`;
    const text = configText(key, merged);
    const check = checkConfig(key, text);
    if (!check.ok) all.push(...check.problems);
    setProblems(all);
    if (all.length > 0) return;
    try {
      await putText(
        place.client,
        place.bucket,
        key,
        text,
        key.endsWith(".json") ? "application/json" : "application/yaml",
      );
      onSaved(key);
    } catch (err) {
      setProblems([describeError(err)]);
    }
  };
  return (
    <div class="editor" data-testid="config-form">
      <h3>New config{analysis.configSchema ? " (from the analysis' parameters)" : ""}</h3>
      <label>
        File name
        <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="config-name" />
      </label>
      {fields.map((f) => (
        <Field key={f.name} field={f} value={raw[f.name]} onChange={(v) => setRaw({ ...raw, [f.name]: v })} />
      ))}
      {analysis.configSchema ? null : (
        <label>
          Analysis parameters (YAML)
          <textarea
            rows={6}
            spellcheck={false}
            value={extra}
            onInput={(e) => setExtra((e.target as HTMLTextAreaElement).value)}
            data-testid="config-extra"
          />
        </label>
      )}
      {problems.length > 0 ? (
        <ul class="problems" data-testid="config-problems">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      ) : null}
      <button type="button" class="primary" onClick={() => void save()} data-testid="create-config">
        Create
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

function Field({
  field,
  value,
  onChange,
}: {
  field: FormField;
  value: string | boolean | undefined;
  onChange: (v: string | boolean) => void;
}) {
  const label = `${field.name}${field.required ? " *" : ""}`;
  if (field.type === "boolean") {
    return (
      <label class="check">
        <input
          type="checkbox"
          name={field.name}
          checked={value === true}
          onChange={(e) => onChange((e.target as HTMLInputElement).checked)}
        />
        {label}
        {field.description ? <small>{field.description}</small> : null}
      </label>
    );
  }
  return (
    <label>
      {label}
      {field.type === "enum" ? (
        <select
          name={field.name}
          value={String(value ?? "")}
          onChange={(e) => onChange((e.target as HTMLSelectElement).value)}
        >
          <option value="">—</option>
          {field.options?.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      ) : (
        <input
          name={field.name}
          inputMode={field.type === "string" ? undefined : "decimal"}
          value={typeof value === "string" ? value : ""}
          onInput={(e) => onChange((e.target as HTMLInputElement).value)}
        />
      )}
      {field.description ? <small>{field.description}</small> : null}
    </label>
  );
}
