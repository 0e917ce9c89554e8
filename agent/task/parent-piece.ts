import type { Bitfield } from '../../core/bitfield.ts';
import { IntegrityError } from '../../core/errors.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import type { PieceWriter } from '../cache/piece-writer.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { Manifest } from './manifest.ts';
import type { Parent } from './parent-set.ts';

export interface ParentPieceSources {
  readonly task: TaskInfo;
  readonly files: TaskFiles;
  readonly manifest: Manifest;
  readonly peers: PeerClient;
  /** This agent's current peer credential for the task. */
  readonly credential: () => string | undefined;
}

export interface ParentPieceHooks {
  /** The writer, as soon as bytes can arrive (the progress deadline counts what it holds). */
  readonly receiving: (writer: PieceWriter) => void;
  /** The parent's bitfield, when its answer carried one. */
  readonly learned: (bitfield: Bitfield) => void;
}

/**
 * One piece from one parent to disk, verified: the piece's published digest first
 * (when the scheduler cannot be asked, manifest.ts, the piece waits and no parent is
 * blamed), then its bytes into a piece writer, then their sha256 against the digest.
 * Resolves the writer and the digest; the caller marks the piece verified.
 * Errors: IntegrityError (no published digest, or bytes that fail verification: the
 * parent's fault), the peer client's errors, the writer's StorageError.
 */
export async function receiveParentPiece(
  sources: ParentPieceSources,
  parent: Parent,
  index: number,
  signal: AbortSignal,
  hooks: ParentPieceHooks,
): Promise<{ writer: PieceWriter; digest: string }> {
  const { task, files, manifest, peers } = sources;
  const context = { taskId: task.id, peerId: parent.info.peerId, index };
  const expected = await manifest.require(index);
  // Sources publish a digest before advertising a piece, so an unverifiable piece is a bad parent.
  if (!expected) throw new IntegrityError(`piece ${index} from ${parent.info.peerId} has no published digest`, { context });
  const writer = files.pieceWriter(index);
  hooks.receiving(writer);
  const bitfield = await peers.piece(parent.info.addr, task.id, index, task.pieceCount, writer, sources.credential(), signal);
  if (bitfield) hooks.learned(bitfield);
  const digest = await writer.finish();
  if (digest !== expected) throw new IntegrityError(`piece ${index} from ${parent.info.peerId} failed verification`, { context });
  return { writer, digest };
}
