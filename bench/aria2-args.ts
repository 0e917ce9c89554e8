/** aria2c settings the baseline's seeder and hosts share: BitTorrent over the tracker only, seeding until stopped. */
export const ARIA2_PORT = 6881;
export const TRACKER_PORT = 6969;

export function aria2Args(torrent: string, dir: string, extra: readonly string[] = []): string[] {
  return [
    `--dir=${dir}`,
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=true',
    '--seed-ratio=0.0', // seed until stopped, as a Mayfly agent keeps serving
    '--file-allocation=none',
    '--summary-interval=0',
    '--console-log-level=warn',
    `--listen-port=${ARIA2_PORT}`,
    '--bt-tracker-interval=5',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    ...extra,
    torrent,
  ];
}
