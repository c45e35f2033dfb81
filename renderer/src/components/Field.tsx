import { useId, type ReactNode } from 'react';

/** A labelled control with its error right under it, wired with aria-invalid / aria-describedby. */
export function Field({
  label,
  error,
  hint,
  field,
  children,
}: {
  label: string;
  error?: string;
  hint?: string;
  /** The argument path this control edits (`ports.0.container`), for tests and server errors. */
  field: string;
  children: (props: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby'?: string;
    'data-field': string;
  }) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : '', hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': !!error, 'aria-describedby': describedBy, 'data-field': field })}
      {error && (
        <p className="field-error" id={errorId} role="alert" data-testid={`error-${field}`}>
          {error}
        </p>
      )}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}
