/** A submission prepared elsewhere (a re-run) that the submit view opens with (this tab only). */
export interface SubmitDraft {
  readonly bucket: string;
  readonly group: string;
  readonly datasets: readonly string[];
  readonly config?: string;
  readonly instanceType?: string;
  /** The job it repeats. */
  readonly from?: string;
}

const KEY = "neurocaas.submit-draft";

export function saveDraft(d: SubmitDraft): void {
  sessionStorage.setItem(KEY, JSON.stringify(d));
}

export function takeDraft(bucket: string, group: string): SubmitDraft | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return undefined;
  sessionStorage.removeItem(KEY);
  try {
    const d = JSON.parse(raw) as SubmitDraft;
    return d.bucket === bucket && d.group === group && Array.isArray(d.datasets) ? d : undefined;
  } catch {
    return undefined;
  }
}
