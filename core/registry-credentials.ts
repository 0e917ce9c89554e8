import { BadRequestError } from './errors.ts';

/** ECR's registry host: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]`. */
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const HOST = /^[a-z0-9.-]{1,253}(?::\d{1,5})?$/;

/** The region of an ECR registry host, or undefined for any other registry. */
export function ecrRegionOf(host: string): string | undefined {
  return ECR_HOST.exec(host.toLowerCase())?.[2];
}

/**
 * Basic credentials per registry host, from `host[:port]=user:password,…`
 * (`MAYFLY_REGISTRY_CREDENTIALS`; ECR's are `AWS:<token>`). A password may hold `=` and `:`,
 * not `,`. BadRequestError for a malformed entry (the message never repeats a password).
 */
export function parseRegistryCredentials(spec: string | undefined): ReadonlyMap<string, string> {
  const entries = new Map<string, string>();
  for (const [i, part] of (spec ?? '').split(',').map((p) => p.trim()).entries()) {
    if (!part) continue;
    const at = part.indexOf('=');
    const host = part.slice(0, at).trim().toLowerCase();
    const userPass = part.slice(at + 1);
    if (at <= 0 || !HOST.test(host) || userPass.indexOf(':') <= 0) {
      throw new BadRequestError(`registry credentials entry ${i + 1} is not host[:port]=user:password`);
    }
    entries.set(host, `Basic ${Buffer.from(userPass).toString('base64')}`);
  }
  return entries;
}
