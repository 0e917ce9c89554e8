import { MayflyError } from '../../core/errors.ts';

/** Distinct exit codes so scripts can tell failures apart. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  accessDenied: 4,
  integrity: 5,
  unavailable: 6,
  storage: 7,
} as const;

export function exitCodeFor(code: string | undefined): number {
  switch (code) {
    case 'BadRequest':
      return EXIT.usage;
    case 'NotFound':
      return EXIT.notFound;
    case 'Forbidden':
    case 'Unauthorized':
      return EXIT.accessDenied;
    case 'IntegrityFailure':
      return EXIT.integrity;
    case 'Unavailable':
    case 'PeerTransferFailed':
    // The object kept changing while it was pulled (the agent looked it up again and gave up): try later.
    case 'OriginChanged':
    case 'TooManyRequests':
      return EXIT.unavailable;
    case 'StorageFailure':
      return EXIT.storage;
    default:
      return EXIT.failure;
  }
}

export function exitCodeOf(error: unknown): number {
  return exitCodeFor(error instanceof MayflyError ? error.code : undefined);
}
