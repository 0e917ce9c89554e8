/**
 * The peer protocol between agents (child → parent, plain HTTP): routes,
 * headers and media types, shared by the serving and the fetching side.
 * The credential header lives with the credential (core/peer-credential.ts).
 */

/** A piece answer carries the parent's advertised bitfield (base64) in this header. */
export const BITFIELD_HEADER = 'x-mayfly-bitfield';
/** A child asks for a watch (a stream of bitfield lines) with this media type in `accept`. */
export const WATCH_MEDIA_TYPE = 'application/x-ndjson';
/** Least time between two lines of one watch, in ms: the child's choice, up to MAX_WATCH_INTERVAL_MS. */
export const INTERVAL_HEADER = 'x-mayfly-interval-ms';
export const MAX_WATCH_INTERVAL_MS = 5_000;
/** Media type of a piece body. */
export const PIECE_MEDIA_TYPE = 'application/octet-stream';

/** GET: one piece's bytes. Groups: task id, piece index. */
export const PIECE_ROUTE = /^\/v1\/tasks\/([^/]+)\/pieces\/(\d{1,9})$/;
/** GET: the advertised bitfield, once or (a watch) as lines. Group: task id. */
export const BITFIELD_ROUTE = /^\/v1\/tasks\/([^/]+)\/bitfield$/;
export const HEALTH_PATH = '/v1/health';

export function piecePath(taskId: string, index: number): string {
  return `/v1/tasks/${taskId}/pieces/${index}`;
}

export function bitfieldPath(taskId: string): string {
  return `/v1/tasks/${taskId}/bitfield`;
}
