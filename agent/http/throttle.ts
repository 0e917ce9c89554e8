import { TokenBucket } from '../../core/token-bucket.ts';

/**
 * A bandwidth limit shared by every transfer in one direction. Waiting in the
 * read loop lets TCP backpressure slow the sender, so the limit holds on the wire.
 */
export class Throttle {
  private readonly bucket: TokenBucket;

  constructor(bytesPerSecond: number) {
    // A burst of 1/20 s keeps pacing smooth without many tiny sleeps.
    this.bucket = new TokenBucket(bytesPerSecond, Math.max(64 * 1024, bytesPerSecond / 20));
  }

  /** Takes `bytes` from the bucket; a promise to wait on when it ran dry, else nothing. */
  consume(bytes: number): Promise<void> | undefined {
    const wait = this.bucket.take(bytes);
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : undefined;
  }
}
