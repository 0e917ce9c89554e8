import { ForbiddenError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { OriginLocation } from '../../core/origin-url.ts';
import type { TaskInfo } from '../../core/wire/scheduler.ts';
import type { PeerIdentity } from '../control/announcer.ts';
import type { SchedulerClient } from '../control/scheduler-client.ts';
import { DigestPublisher, type DigestSink } from './digest-publisher.ts';
import { DigestVoucher } from './digest-voucher.ts';
import type { Manifest } from './manifest.ts';

export interface DigestSinkOptions {
  readonly task: TaskInfo;
  readonly location: OriginLocation;
  /** A direct pull (no scheduler): nothing is published, so its pieces are never served to peers. */
  readonly direct: boolean;
  readonly scheduler: SchedulerClient;
  readonly identity: PeerIdentity;
  readonly manifest: Manifest;
  /** Called for a piece whose bytes do not match the vouched digest: read it again. */
  readonly readAgain: (index: number) => void;
  readonly log: Logger;
}

/**
 * Where the digests of pieces this agent read from the origin go. S3 tasks' digests come
 * from the control plane: what this agent read is checked against them, never published
 * (DigestVoucher). HTTP(S) tasks' digests are attested by the lease holder (DigestPublisher).
 */
export function digestSinkFor(options: DigestSinkOptions): DigestSink {
  const { task, scheduler, identity, manifest, log } = options;
  if (!options.direct && options.location.kind === 's3') {
    return new DigestVoucher({
      fetchVouched: async () => (await scheduler.manifest(task.id)).digests,
      known: (index) => manifest.get(index),
      merge: (digests) => manifest.merge(digests),
      report: (piece, digest) => scheduler.reportIncident(task.id, { peerId: identity.peerId, site: identity.site, piece, digest }),
      mismatch: options.readAgain,
      log,
    });
  }
  return new DigestPublisher(
    (digests) =>
      options.direct
        ? Promise.reject(new ForbiddenError('direct pull: digests not published'))
        : scheduler.publishDigests(task.id, identity.peerId, identity.site, digests),
    log,
  );
}
