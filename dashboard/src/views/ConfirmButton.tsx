import { useState } from "preact/hooks";

/** A destructive action in two clicks (no browser dialog). */
export function ConfirmButton({
  label,
  confirm,
  onConfirm,
  testId,
}: {
  label: string;
  confirm?: string;
  onConfirm: () => void | Promise<void>;
  testId?: string;
}) {
  const [armed, setArmed] = useState(false);
  return armed ? (
    <span class="confirm">
      <button
        type="button"
        class="danger"
        data-testid={testId ? `${testId}-confirm` : undefined}
        onClick={() => {
          setArmed(false);
          void onConfirm();
        }}
      >
        {confirm ?? `Yes, ${label.toLowerCase()}`}
      </button>
      <button type="button" onClick={() => setArmed(false)}>
        Keep
      </button>
    </span>
  ) : (
    <button type="button" data-testid={testId} onClick={() => setArmed(true)}>
      {label}
    </button>
  );
}
