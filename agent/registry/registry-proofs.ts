import type { AnnounceRequest, AnnounceResponse } from '../../core/wire/scheduler.ts';
import { SchedulerClient, type SchedulerClientOptions } from '../control/scheduler-client.ts';

/** Proofs kept at most (one per blob this host pulled recently). */
const MAX_PROOFS = 1024;

/**
 * The registry's 307 `Location` for this host's own request of each blob, by the blob's
 * task URL (core/registry-blob.ts). The scheduler admits the host to a blob's swarm only
 * with it, so every announce of that URL carries the latest one.
 */
export class RegistryProofs {
  private readonly proofs = new Map<string, string>();

  remember(taskUrl: string, location: string): void {
    this.proofs.delete(taskUrl);
    this.proofs.set(taskUrl, location);
    if (this.proofs.size > MAX_PROOFS) this.proofs.delete(this.proofs.keys().next().value as string);
  }

  get(taskUrl: string): string | undefined {
    return this.proofs.get(taskUrl);
  }
}

/** The scheduler client, with each announce of a registry blob carrying this host's proof. */
export class ProvingSchedulerClient extends SchedulerClient {
  constructor(private readonly proofs: RegistryProofs, options: SchedulerClientOptions) {
    super(options);
  }

  override announce(request: AnnounceRequest): Promise<AnnounceResponse> {
    const proof = this.proofs.get(request.url);
    return super.announce(proof ? { ...request, registryProof: proof } : request);
  }
}
