import type { PyDict, PyFloat, PyTimestamp, PyValue } from "./pyyaml";

/**
 * Python 3's `str()`, `repr()` and `json.dumps()` (default separators, `ensure_ascii=True`) of the
 * values PyYAML loads: what the original `scripting read-yaml` printed, byte for byte.
 */

function isFloat(v: PyValue): v is PyFloat {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as PyFloat).kind === "float";
}
function isDict(v: PyValue): v is PyDict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as PyDict).kind === "dict";
}
function isTimestamp(v: PyValue): v is PyTimestamp {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as PyTimestamp).kind === "timestamp";
}

/** `repr(float)`: shortest round-trip digits; exponent form below 1e-4 and from 1e16 on. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  const sign = x < 0 ? "-" : "";
  if (e < -4 || e >= 16) {
    const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const intPart = digits.slice(0, e + 1).padEnd(e + 1, "0");
  const frac = digits.slice(e + 1);
  return `${sign}${intPart}.${frac === "" ? "0" : frac}`;
}

const pad2 = (n: number): string => String(n).padStart(2, "0");

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const m = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(m / 60))}:${pad2(m % 60)}`;
}

/** `str()` of a `datetime.date` / `datetime.datetime`. */
function timestampStr(t: PyTimestamp): string {
  const date = `${String(t.year).padStart(4, "0")}-${pad2(t.month)}-${pad2(t.day)}`;
  if (!t.time) return date;
  const { hour, minute, second, microsecond, offsetMinutes } = t.time;
  const frac = microsecond ? `.${String(microsecond).padStart(6, "0")}` : "";
  return `${date} ${pad2(hour)}:${pad2(minute)}:${pad2(second)}${frac}${offsetMinutes === undefined ? "" : offsetText(offsetMinutes)}`;
}

/** `repr()` of a `datetime.date` / `datetime.datetime`. */
function timestampRepr(t: PyTimestamp): string {
  if (!t.time) return `datetime.date(${t.year}, ${t.month}, ${t.day})`;
  const { hour, minute, second, microsecond, offsetMinutes } = t.time;
  const fields = [t.year, t.month, t.day, hour, minute];
  if (second || microsecond) fields.push(second);
  if (microsecond) fields.push(microsecond);
  let tz = "";
  if (offsetMinutes === 0) tz = ", tzinfo=datetime.timezone.utc";
  else if (offsetMinutes !== undefined) {
    const delta =
      offsetMinutes > 0 ? `seconds=${offsetMinutes * 60}` : `days=-1, seconds=${86400 + offsetMinutes * 60}`;
    tz = `, tzinfo=datetime.timezone(datetime.timedelta(${delta}))`;
  }
  return `datetime.datetime(${fields.join(", ")}${tz})`;
}

/** Python's printable test for `repr(str)`, close enough: control and separator characters are not. */
function isPrintable(ch: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch) && (ch === " " || !/\p{Zs}/u.test(ch));
}

/** `repr(str)`: single quotes unless the text has `'` and no `"`. */
function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x7f || isPrintable(ch)) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return out + quote;
}

/** `repr()` of any loaded value (what `str()` of a list or dict shows for its items). */
function pyRepr(v: PyValue): string {
  if (typeof v === "string") return strRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isDict(v)) return `{${v.entries.map(([k, val]) => `${pyRepr(k)}: ${pyRepr(val)}`).join(", ")}}`;
  if (isTimestamp(v)) return timestampRepr(v);
  return pyStr(v);
}

/** `str()` of any loaded value. */
export function pyStr(v: PyValue): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return v;
  if (isFloat(v)) return floatRepr(v.value);
  if (isTimestamp(v)) return timestampStr(v);
  return pyRepr(v);
}

/** A JSON string literal as Python's json module writes it with `ensure_ascii=True`. */
function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return floatRepr(x);
}

/** A dict key as `json.dumps` converts it (str, int, float, bool, None). */
function jsonKey(k: PyValue): string {
  if (typeof k === "string") return jsonString(k);
  if (k === null) return '"null"';
  if (typeof k === "boolean") return k ? '"true"' : '"false"';
  if (typeof k === "bigint") return `"${k}"`;
  if (isFloat(k)) return `"${jsonFloat(k.value)}"`;
  throw new Error(
    `keys must be str, int, float, bool or None, not ${isTimestamp(k) ? (k.time ? "datetime.datetime" : "datetime.date") : "list"}`,
  );
}

/** `json.dumps(value)` with Python's defaults (`", "` and `": "` separators). */
export function jsonDumps(v: PyValue): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return jsonString(v);
  if (Array.isArray(v)) return `[${v.map(jsonDumps).join(", ")}]`;
  if (isFloat(v)) return jsonFloat(v.value);
  if (isDict(v)) return `{${v.entries.map(([k, val]) => `${jsonKey(k)}: ${jsonDumps(val)}`).join(", ")}}`;
  throw new Error(`Object of type ${(v as PyTimestamp).time ? "datetime" : "date"} is not JSON serializable`);
}
