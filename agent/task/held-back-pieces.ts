import type { Logger } from '../../core/log.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { ChildView } from '../peer/child-view.ts';
import type { DigestSink } from './digest-publisher.ts';

export interface HeldBackPiecesOptions {
  readonly files: TaskFiles;
  readonly view: ChildView;
  /** The swarm session's digest sink: only one that checks against the control plane's digests (attests false) is used. */
  readonly sink: DigestSink;
  readonly log: Logger;
}

/**
 * Pieces this agent read from S3 while the scheduler was unreachable (a direct pull)
 * were never offered to children: nobody had vouched for their digests. Once the
 * task's swarm session hears from the scheduler again, each such piece goes through
 * the same check as a piece read under a grant (digest-voucher.ts): offered once the
 * control plane's digest for it is known and matches, never otherwise. An HTTP(S)
 * task's digests are attested by a lease holder only, so its held-back pieces stay
 * local.
 */
export class HeldBackPieces {
  private vouching = false;

  constructor(private readonly options: HeldBackPiecesOptions) {}

  /** Checks every held-back piece not being checked already (`busy`: pieces this run's origin reads are checking); no-op while a round runs. */
  vouch(busy: (index: number) => boolean = () => false): void {
    const { files, view, sink, log } = this.options;
    if (this.vouching || sink.attests) return;
    const pieces = view.heldBack().filter((index) => files.digests.has(index) && !busy(index));
    if (pieces.length === 0) return;
    this.vouching = true;
    log.info('checking pieces read from the origin while the scheduler was unreachable, to offer them to peers', { pieces: pieces.length });
    void Promise.all(
      pieces.map(async (index) => {
        const ok = await sink.publish(index, files.digests.get(index)!);
        if (ok) view.published(index);
        return ok;
      }),
    )
      .then((results) => log.info('pieces read while the scheduler was unreachable checked', { offered: results.filter(Boolean).length, kept: results.filter((ok) => !ok).length }))
      .finally(() => (this.vouching = false));
  }
}
