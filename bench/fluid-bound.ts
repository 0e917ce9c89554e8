/**
 * The fluid lower bound on the time to give F bytes to N peers from one
 * server (Kumar & Ross 2006): the server must send every byte once, the
 * slowest downloader must receive F, and all N·F bytes must be uploaded by the
 * server and the peers together.
 *
 *   T_min = max(F / u_s, F / d_min, N·F / (u_s + Σ u_i))
 */
export interface FluidInputs {
  readonly bytes: number;
  /** Server (origin) upload, bits per second. */
  readonly serverBps: number;
  /** Each peer's download, bits per second. */
  readonly downloadBps: readonly number[];
  /** Each peer's upload, bits per second. */
  readonly uploadBps: readonly number[];
}

export function fluidLowerBound(inputs: FluidInputs): { seconds: number; term: 'server' | 'download' | 'aggregate' } {
  const bits = inputs.bytes * 8;
  const n = inputs.downloadBps.length;
  const server = bits / inputs.serverBps;
  const download = bits / Math.min(...inputs.downloadBps);
  const aggregate = (n * bits) / (inputs.serverBps + inputs.uploadBps.reduce((a, b) => a + b, 0));
  const seconds = Math.max(server, download, aggregate);
  return { seconds, term: seconds === server ? 'server' : seconds === download ? 'download' : 'aggregate' };
}

/** Every host pulling straight from the origin shares its uplink: N·F / u_s (or F/d if the hosts are slower). */
export function directLowerBound(inputs: FluidInputs): number {
  const bits = inputs.bytes * 8;
  return Math.max((inputs.downloadBps.length * bits) / inputs.serverBps, bits / Math.min(...inputs.downloadBps));
}
