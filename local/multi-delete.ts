/**
 * DeleteObjects (POST ?delete) for the local endpoint: s3rver deletes every listed key without
 * looking at it (`../x` included). Here each key is checked like a single DeleteObject (storable
 * key, s3:DeleteObject allowed for the caller) and answered per key, as S3 does: denied keys come
 * back as <Error> entries, the others are deleted.
 */
import { XMLParser } from "fast-xml-parser";
import { s3Failure, xmlEscape, type S3Failure } from "./s3-errors";

const MAX_DELETE_KEYS = 1000;

export interface DeleteRequest {
  readonly keys: readonly string[];
  readonly quiet: boolean;
}

export interface KeyError {
  readonly key: string;
  readonly code: string;
  readonly message: string;
}

const malformed = () =>
  s3Failure(
    400,
    "MalformedXML",
    "The XML you provided was not well-formed or did not validate against our published schema (a <Delete> with 1 to 1000 <Object><Key>).",
  );

export function parseDeleteRequest(body: Buffer): DeleteRequest | S3Failure {
  let doc: unknown;
  try {
    doc = new XMLParser({
      ignoreAttributes: true,
      parseTagValue: false,
      trimValues: false,
      isArray: (name) => name === "Object",
    }).parse(body.toString("utf8"), true);
  } catch {
    return malformed();
  }
  const del = (doc as { Delete?: { Object?: unknown; Quiet?: unknown } }).Delete;
  if (typeof del !== "object" || del === null || !Array.isArray(del.Object)) return malformed();
  const keys: string[] = [];
  for (const o of del.Object as unknown[]) {
    const key = (o as { Key?: unknown } | null)?.Key;
    if (typeof key !== "string") return malformed();
    keys.push(key);
  }
  if (keys.length === 0 || keys.length > MAX_DELETE_KEYS) return malformed();
  return {
    keys,
    quiet:
      String(del.Quiet ?? "")
        .trim()
        .toLowerCase() === "true",
  };
}

export function deleteResultXml(deleted: readonly string[], errors: readonly KeyError[], quiet: boolean): string {
  const parts = [
    ...(quiet ? [] : deleted.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`)),
    ...errors.map(
      (e) =>
        `<Error><Key>${xmlEscape(e.key)}</Key><Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message></Error>`,
    ),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join("")}</DeleteResult>`;
}
