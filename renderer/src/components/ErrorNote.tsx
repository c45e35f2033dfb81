import type { ErrorBody } from '../../../shared';

const HINTS: Partial<Record<ErrorBody['code'], string>> = {
  docker_unavailable: 'Start Docker, then try again.',
  device_offline: 'The computer is offline. Commands will work again when it reconnects.',
  image_not_found: 'Check the image name and tag; the image must be available to Docker.',
  port_taken: 'Pick another host port, or leave it empty to get a free one.',
  pending_approval: 'The owner must approve this image on the computer itself.',
  unauthorized: 'Your session has ended. Sign in again.',
};

export function ErrorNote({
  error,
  testId = 'error',
}: {
  error: ErrorBody | null | undefined;
  testId?: string;
}) {
  if (!error) return null;
  const hint = HINTS[error.code];
  return (
    <div className="note note-error" role="alert" data-testid={testId} data-code={error.code}>
      <strong>{error.message}</strong>
      {hint && <span className="note-hint"> {hint}</span>}
    </div>
  );
}
