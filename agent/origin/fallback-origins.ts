import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { originAllowed } from '../../core/allowlist.ts';
import type { OriginLocation } from '../../core/origin-url.ts';

/** The cluster's http(s):// allowlist entries as last heard, kept in the data dir across restarts. */
const FILE = 'http-origins.json';

/**
 * Where a pull may go while the scheduler is unreachable. S3 URLs: anywhere the
 * host's own credentials reach (S3 and IAM decide). HTTP(S) URLs: only under an
 * http(s):// allowlist entry the scheduler sent this agent (announce answers,
 * AnnounceResponse.httpOrigins), so a host that never heard from the scheduler
 * fetches no HTTP origin in an outage.
 */
export class FallbackOrigins {
  private entries: readonly string[] = [];
  private saved = '[]';

  constructor(private readonly dataDir: string) {}

  /** Reads the entries a previous run kept (none when the file is missing or damaged). */
  async load(): Promise<void> {
    const raw = await readFile(join(this.dataDir, FILE), 'utf8').catch(() => undefined);
    if (raw === undefined) return;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed) && parsed.every((entry) => typeof entry === 'string')) {
        this.entries = parsed;
        this.saved = JSON.stringify(parsed);
      }
    } catch {
      // A damaged file counts as no entries: fail closed.
    }
  }

  /** Replaces the entries with the scheduler's latest list (an entry it dropped stops admitting at once); resolves once kept. */
  async learn(entries: readonly string[]): Promise<void> {
    const text = JSON.stringify(entries);
    this.entries = [...entries];
    if (text === this.saved) return;
    this.saved = text;
    const path = join(this.dataDir, FILE);
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, text).then(() => rename(temp, path)).catch(() => {});
  }

  /** Whether a pull of `location` may go straight to the origin without the scheduler. */
  admits(location: OriginLocation): boolean {
    if (location.kind === 's3') return true;
    return originAllowed(location, this.entries);
  }
}
