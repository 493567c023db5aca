import * as fs from "node:fs";
import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { homeDirectory } from "../home";
import { createS3Client } from "../../protocols/s3-client";
import {
  JOB_SUBDIRS,
  currentJobDir,
  readRegistration,
  writeRegistration,
  type RegisteredLocation,
  type Registration,
} from "./state";
import { groupOfUri, joinUri, uriFromBucketKey } from "./s3-uri";
import { isS3Uri, parseS3Uri } from "../../protocols/s3-uri";
import { downloadKeyOrPrefix, uploadPath } from "../transfer";

/** Where a registered item comes from: `-b BUCKET -k KEY` (S3) or `-l LOCALPATH`. */
export interface SourceArgs {
  readonly bucket?: string;
  readonly key?: string;
  readonly localpath?: string;
}

export interface FetchArgs {
  /** Target directory (default: JOBDIR/inputs for data and files, JOBDIR/configs for the config). */
  readonly outDir?: string;
  /** Fetch again even when the target already exists. */
  readonly force?: boolean;
}

export interface WorkflowContextArgs {
  /** HOME holding the state file (default: the process' home directory). */
  readonly home?: string;
  /** S3 client factory (default: `createS3Client()` from the environment). */
  readonly s3?: () => S3Client;
  /** Where notes go (never stdout: getters print exactly one line). */
  readonly note?: (message: string) => void;
}

type Kind = "data" | "config";

/** The registered job of one IAE: every `neurocaas workflow` command except initialize-job. */
export class WorkflowJob {
  readonly jobDir: string;
  private readonly s3Factory: () => S3Client;
  private client?: S3Client;
  private readonly note: (message: string) => void;

  constructor(args: WorkflowContextArgs = {}) {
    this.jobDir = currentJobDir(args.home ?? homeDirectory());
    this.s3Factory = args.s3 ?? (() => createS3Client());
    this.note = args.note ?? ((m) => process.stderr.write(`${m}\n`));
  }

  get s3(): S3Client {
    this.client ??= this.s3Factory();
    return this.client;
  }

  registration(): Registration {
    return readRegistration(this.jobDir);
  }

  private update(fn: (r: Registration) => void): void {
    const r = this.registration();
    fn(r);
    writeRegistration(this.jobDir, r);
  }

  registerDataset(src: SourceArgs): void {
    const loc = this.locationFromSource(src, "register-dataset");
    this.update((r) => (r.data = loc));
  }

  registerConfig(src: SourceArgs): void {
    const loc = this.locationFromSource(src, "register-config");
    this.update((r) => (r.config = loc));
  }

  registerFile(name: string, src: SourceArgs): void {
    if (!name) throw new Error("register-file: a name is required (-n NAME)");
    const loc = this.locationFromSource(src, "register-file");
    this.update((r) => (r.additional_files[name] = loc));
  }

  /**
   * `-b B -k K` → `s3://B/{group}/K` (group of the registered dataset), a trailing `/` kept as the
   * original did; an `s3://` K is kept as is; `-l PATH` is stored as given.
   */
  registerResultpath(src: SourceArgs): void {
    checkSource(src, "register-resultpath");
    let loc: RegisteredLocation;
    if (src.localpath !== undefined) {
      loc = { localsource: src.localpath };
    } else if (isS3Uri(src.key!)) {
      loc = { s3: src.key! };
    } else {
      const data = this.registration().data.s3;
      if (!data) {
        throw new Error(
          "register-resultpath -b/-k needs a dataset registered from S3 first (the group comes from its key): run `neurocaas workflow register-dataset -b BUCKET -k KEY`",
        );
      }
      const joined = joinUri(`s3://${src.bucket}`, groupOfUri(data), src.key!);
      loc = { s3: src.key!.endsWith("/") ? `${joined}/` : joined };
    }
    this.update((r) => (r.resultpath = loc));
  }

  /**
   * `-b B -k K` as an S3 URI, or `-l PATH` stored as given (as the original did: the path may
   * not exist yet, and a relative one is read from the directory `get-*` runs in).
   */
  private locationFromSource(src: SourceArgs, command: string): RegisteredLocation {
    checkSource(src, command);
    if (src.localpath !== undefined) {
      if (!fs.existsSync(src.localpath))
        this.note(`${command}: ${src.localpath} does not exist yet; registered as given`);
      return { localsource: src.localpath };
    }
    return { s3: uriFromBucketKey(src.bucket ?? "", src.key!) };
  }

  async fetch(kind: Kind, args: FetchArgs = {}): Promise<string> {
    const r = this.registration();
    const loc = r[kind];
    const target = await this.fetchLocation(
      loc,
      kind === "data" ? "dataset" : "config",
      args,
      kind === "data" ? JOB_SUBDIRS.data : JOB_SUBDIRS.config,
    );
    this.update((reg) => (reg[kind] = { ...reg[kind], local: target }));
    return target;
  }

  async fetchFile(name: string, args: FetchArgs = {}): Promise<string> {
    const loc = this.registration().additional_files[name];
    if (!loc)
      throw new Error(
        `no file registered under the name "${name}": run \`neurocaas workflow register-file -n ${name} ...\` first`,
      );
    const target = await this.fetchLocation(loc, `file "${name}"`, args, JOB_SUBDIRS.data);
    this.update((reg) => (reg.additional_files[name] = { ...reg.additional_files[name], local: target }));
    return target;
  }

  private async fetchLocation(
    loc: RegisteredLocation,
    what: string,
    args: FetchArgs,
    defaultSubdir: string,
  ): Promise<string> {
    const source = loc.s3 ?? loc.localsource;
    if (!source)
      throw new Error(
        `no ${what} registered: run \`neurocaas workflow register-${what.startsWith("file") ? "file" : what}\` first`,
      );
    const dir = path.resolve(args.outDir ?? path.join(this.jobDir, defaultSubdir));
    const name = path.posix.basename(source.replace(/\/+$/, ""));
    const target = path.join(dir, name);
    if (!args.force && fs.existsSync(target)) {
      this.note(`${what} already exists at ${target}; keeping it (use -f to fetch again)`);
      return target;
    }
    fs.mkdirSync(dir, { recursive: true });
    if (loc.s3) {
      const { bucket, key } = parseS3Uri(loc.s3);
      if (args.force) fs.rmSync(target, { recursive: true, force: true });
      return downloadKeyOrPrefix(this.s3, bucket, key, dir);
    }
    if (!fs.existsSync(loc.localsource!)) {
      throw new Error(
        `the registered ${what} ${loc.localsource} does not exist${path.isAbsolute(loc.localsource!) ? "" : ` (relative to ${process.cwd()})`}`,
      );
    }
    copyLocal(loc.localsource!, target);
    return target;
  }

  /** Basename of the registered item (of the fetched copy when there is one). */
  name(kind: Kind): string {
    const loc = this.registration()[kind];
    return basenameOf(loc, kind === "data" ? "dataset" : "config");
  }

  fileName(name: string): string {
    const loc = this.registration().additional_files[name];
    if (!loc) throw new Error(`no file registered under the name "${name}"`);
    return basenameOf(loc, `file "${name}"`);
  }

  /** Local path of a fetched item; an error when it was not fetched yet. */
  localPath(kind: Kind): string {
    const loc = this.registration()[kind];
    const cmd = kind === "data" ? "get-data" : "get-config";
    if (!loc.local)
      throw new Error(
        `the ${kind === "data" ? "dataset" : "config"} has not been fetched yet: run \`neurocaas workflow ${cmd}\` first`,
      );
    return loc.local;
  }

  filePath(name: string): string {
    const loc = this.registration().additional_files[name];
    if (!loc) throw new Error(`no file registered under the name "${name}"`);
    if (!loc.local)
      throw new Error(`file "${name}" has not been fetched yet: run \`neurocaas workflow get-file -n ${name}\` first`);
    return loc.local;
  }

  /** S3 URI of the registered dataset; an error when it was registered locally. */
  private dataUri(what: string): string {
    const uri = this.registration().data.s3;
    if (!uri) throw new Error(`${what} needs a dataset registered from S3 (register-dataset -b BUCKET -k KEY)`);
    return uri;
  }

  group(): string {
    return groupOfUri(this.dataUri("get-group"));
  }

  bucket(): string {
    return parseS3Uri(this.dataUri("get-bucket")).bucket;
  }

  /** The dataset key (inside its bucket) or, for a local dataset, its local source path. */
  datasetKey(): string {
    const d = this.registration().data;
    if (d.s3) return parseS3Uri(d.s3).key;
    if (d.localsource) return d.localsource;
    throw new Error("no dataset registered: run `neurocaas workflow register-dataset` first");
  }

  /** A local scratch folder for results (`JOBDIR/results`), created when missing. */
  resultpathTmp(): string {
    const dir = path.join(this.jobDir, JOB_SUBDIRS.results);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** The registered result path (S3 URI or local folder). */
  resultBase(): string {
    const rp = this.registration().resultpath;
    const base = rp.s3 ?? rp.localsource;
    if (!base) throw new Error("no result path registered: run `neurocaas workflow register-resultpath` first");
    return base;
  }

  /** Where `put-result` would put a local file or folder: `{resultpath}/process_results/{basename}`. */
  resultpathFor(localPath: string): string {
    const base = this.resultBase();
    const name = path.basename(path.resolve(localPath));
    return isS3Uri(base) ? joinUri(base, "process_results", name) : path.join(base, "process_results", name);
  }

  /** Upload (or copy, for a local result path) a file or folder to `process_results/`. */
  async putResult(localPath: string): Promise<string[]> {
    if (!fs.existsSync(localPath)) throw new Error(`put-result: ${localPath} does not exist`);
    const dest = this.resultpathFor(localPath);
    if (isS3Uri(dest)) {
      const { bucket, key } = parseS3Uri(dest);
      return (await uploadPath(this.s3, bucket, key, localPath)).map((k) => `s3://${bucket}/${k}`);
    }
    copyLocal(localPath, dest);
    return [dest];
  }

  /** Config copy and an empty `update.txt` to `process_results/` (idempotent; never `end.txt`). */
  async cleanup(): Promise<string[]> {
    const reg = this.registration();
    let config = reg.config.local;
    if (!config || !fs.existsSync(config)) {
      config = await this.fetch("config", { outDir: path.join(this.jobDir, JOB_SUBDIRS.logs), force: true });
    }
    const update = path.join(this.jobDir, JOB_SUBDIRS.logs, "update.txt");
    fs.mkdirSync(path.dirname(update), { recursive: true });
    fs.writeFileSync(update, "");
    return [...(await this.putResult(config)), ...(await this.putResult(update))];
  }
}

function checkSource(src: SourceArgs, command: string): void {
  const s3 = src.key !== undefined && (src.bucket !== undefined || isS3Uri(src.key));
  const local = src.localpath !== undefined;
  const partial = (src.bucket !== undefined || src.key !== undefined) && !s3;
  if (partial || s3 === local) {
    throw new Error(
      `${command}: pass either -b BUCKET -k KEY (a file in S3) or -l LOCALPATH (a local file), not both or neither`,
    );
  }
}

function basenameOf(loc: RegisteredLocation, what: string): string {
  const p = loc.local ?? loc.s3 ?? loc.localsource;
  if (!p) throw new Error(`no ${what} registered`);
  return path.posix.basename(p.replace(/\/+$/, ""));
}

/** Copy a local file or directory (recursively) to `dest`. */
function copyLocal(src: string, dest: string): void {
  if (!fs.existsSync(src)) throw new Error(`${src} does not exist`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (fs.statSync(src).isDirectory()) fs.cpSync(src, dest, { recursive: true });
  else fs.copyFileSync(src, dest);
}
