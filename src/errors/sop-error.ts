/**
 * The one error type the public API throws. `code` is stable and documented in the
 * README; `message` is for humans and may change.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'CONFLICT',
  'TIMEOUT',
  'CORRUPT',
  'TX_CLOSED',
  'READ_ONLY',
  'STORE_NOT_FOUND',
  'STORE_EXISTS',
  'UNAVAILABLE',
  'IO',
] as const;

export type SopErrorCode = (typeof ERROR_CODES)[number];

export class SopError extends Error {
  readonly code: SopErrorCode;

  constructor(code: SopErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SopError';
    this.code = code;
  }

  static is(error: unknown, code?: SopErrorCode): error is SopError {
    return error instanceof SopError && (code === undefined || error.code === code);
  }
}

/** Programmer-error guard. Stays on in production: a broken invariant must stop the operation. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}

/** Raised by `assert`: a bug in sop-ts, never a user error. */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(`sop-ts invariant violated: ${message}`);
    this.name = 'AssertionFailure';
  }
}

export function invalid(message: string): SopError {
  return new SopError('INVALID_ARGUMENT', message);
}

export function corrupt(message: string, cause?: unknown): SopError {
  return new SopError('CORRUPT', message, cause === undefined ? undefined : { cause });
}

/** Wraps an unknown failure from a port as a typed error, keeping SopErrors as they are. */
export function toSopError(error: unknown, context: string): SopError {
  if (error instanceof SopError) return error;
  if (error instanceof AssertionFailure) throw error;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'ETIMEDOUT') return new SopError('TIMEOUT', `${context}: ${detail}`, { cause: error });
  return new SopError('IO', `${context}: ${detail}`, { cause: error });
}
