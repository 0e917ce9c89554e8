import { AGENT_NODE_OPTIONS, DEFAULT_PEER_PORT } from '../../core/constants.ts';
import { runtimeSetupCommand, type ContainerRuntime } from './registry-mirrors.ts';

/** Where the agent lives on an EC2 host; shared by the user data and the systemd units. */
export const AGENT_PATHS = {
  home: '/opt/mayfly',
  bundle: '/opt/mayfly/mayfly.mjs',
  node: '/opt/mayfly/bin/node',
  envFile: '/etc/mayfly/agent.env',
  unit: '/etc/systemd/system/mayfly-agent.service',
  journalUnit: '/etc/systemd/system/mayfly-journal.service',
  logFile: '/var/log/mayfly/agent.log',
  cloudWatchConfig: '/opt/aws/amazon-cloudwatch-agent/etc/mayfly.json',
} as const;

export const AGENT_SERVICE = 'mayfly-agent.service';

/** Seconds the unit must stay up after start before the host reports itself healthy. */
export const AGENT_SETTLE_SECONDS = 10;

/**
 * The systemd unit. Restart=on-failure brings a crashed agent back; its cache and resume
 * state survive on disk, so a restart costs a re-announce, not a re-download.
 */
export const AGENT_SYSTEMD_UNIT = `[Unit]
Description=Mayfly agent (peer-to-peer distribution of S3 artifacts)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=mayfly
Group=mayfly
EnvironmentFile=${AGENT_PATHS.envFile}
ExecStart=${AGENT_PATHS.node} ${AGENT_NODE_OPTIONS.join(' ')} ${AGENT_PATHS.bundle} agent
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
NoNewPrivileges=true
ProtectSystem=full

[Install]
WantedBy=multi-user.target
`;

/**
 * Copies the agent's journal into a file the CloudWatch agent tails (it cannot read the
 * journal itself). The cursor file makes a restart continue where it stopped, without repeats.
 */
export const JOURNAL_COPY_UNIT = `[Unit]
Description=Mayfly agent journal, copied to ${AGENT_PATHS.logFile} for CloudWatch Logs
After=${AGENT_SERVICE}

[Service]
Type=simple
StateDirectory=mayfly-journal
ExecStart=/bin/sh -c 'exec journalctl --unit=${AGENT_SERVICE} --follow --output=short-iso --cursor-file=/var/lib/mayfly-journal/cursor >> ${AGENT_PATHS.logFile}'
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;

export interface AgentInstallOptions {
  /** Scheduler endpoint (may be a CloudFormation token). */
  readonly schedulerUrl: string;
  /** `s3://bucket/key` of the agent bundle asset. */
  readonly bundleS3Url: string;
  /** Hex sha256 of the bundle file; the host refuses a download that does not match. */
  readonly bundleSha256: string;
  readonly region: string;
  readonly cacheDir: string;
  /**
   * Run the agent as a seed (`MAYFLY_SEED=true`): it heartbeats and takes preheat jobs.
   * @default false
   */
  readonly seed?: boolean;
  /**
   * CloudWatch Logs group the agent's journal is shipped to (by the CloudWatch agent).
   * @default - not shipped
   */
  readonly logGroupName?: string;
  /** Extra MAYFLY_* settings written to the environment file. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Registries (`host[:port]`) the host's container runtime pulls through the agent's mirror:
   * user data runs `mayfly setup <containerRuntime> --registry …`.
   * @default - none (the runtime is left as it is)
   */
  readonly registryMirrors?: readonly string[];
  /** @default 'containerd' */
  readonly containerRuntime?: ContainerRuntime;
}

/** Single-quotes `value` for the shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Shell commands (Amazon Linux 2023) that install Node 22, fetch and verify the agent bundle,
 * write its environment and systemd unit, start it, and fail unless it is still running
 * AGENT_SETTLE_SECONDS later: the last command's status is what the CloudFormation signal
 * reports. Site = availability zone, peer id = instance id and the advertised address are read
 * from IMDSv2 and each checked, so swarms stay AZ-local and a reboot keeps its identity.
 */
export function agentInstallCommands(options: AgentInstallOptions): string[] {
  if (!/^[0-9a-f]{64}$/.test(options.bundleSha256)) throw new Error('agentInstallCommands: bundleSha256 must be 64 lowercase hex digits');
  const download = `${AGENT_PATHS.bundle}.download`;
  const settings = [
    `MAYFLY_SCHEDULER_URL=${options.schedulerUrl}`,
    'MAYFLY_AUTH=sigv4',
    `MAYFLY_PEER_PORT=${DEFAULT_PEER_PORT}`,
    `MAYFLY_DATA_DIR=${options.cacheDir}`,
    `AWS_REGION=${options.region}`,
    ...(options.seed ? ['MAYFLY_SEED=true'] : []),
    ...Object.entries(options.environment ?? {}).map(([key, value]) => `${key}=${value}`),
  ];
  return [
    'set -euo pipefail',
    // No fallback to the distribution's default nodejs: that is an end-of-life Node.
    'dnf install -y nodejs22',
    'NODE_BIN="$(command -v node-22)"',
    'case "$("$NODE_BIN" --version)" in v22.*) ;; *) echo "mayfly: $NODE_BIN is not Node 22" >&2; exit 1 ;; esac',
    `install -d -m 0755 ${AGENT_PATHS.home}/bin /etc/mayfly`,
    `ln -sf "$NODE_BIN" ${AGENT_PATHS.node}`,
    `aws s3 cp --region ${options.region} '${options.bundleS3Url}' ${download}`,
    `echo '${options.bundleSha256}  ${download}' | sha256sum --check --strict --quiet -`,
    `mv -f ${download} ${AGENT_PATHS.bundle}`,
    'id mayfly >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin mayfly',
    `install -d -o mayfly -g mayfly -m 0750 ${options.cacheDir}`,
    // Each value is checked: a failed call inside a heredoc or a plain `echo` would write
    // an empty site or peer id and still exit 0.
    "IMDS_TOKEN=\"$(curl -sSf --retry 5 -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')\"",
    'imds() { curl -sSf --retry 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "http://169.254.169.254/latest/meta-data/$1"; }',
    'need() { if [ -z "$2" ]; then echo "mayfly: instance metadata gave no $1" >&2; exit 1; fi; }',
    'need token "$IMDS_TOKEN"',
    'SITE="$(imds placement/availability-zone)"; need availability-zone "$SITE"',
    'PEER_ID="$(imds instance-id)"; need instance-id "$PEER_ID"',
    'ADVERTISE_HOST="$(imds local-ipv4)"; need local-ipv4 "$ADVERTISE_HOST"',
    `printf '%s\\n' ${settings.map(shellQuote).join(' ')} > ${AGENT_PATHS.envFile}`,
    `printf '%s\\n' "MAYFLY_SITE=$SITE" "MAYFLY_PEER_ID=$PEER_ID" "MAYFLY_ADVERTISE_HOST=$ADVERTISE_HOST" >> ${AGENT_PATHS.envFile}`,
    `cat > ${AGENT_PATHS.unit} <<'EOF'`,
    ...AGENT_SYSTEMD_UNIT.trimEnd().split('\n'),
    'EOF',
    ...(options.logGroupName === undefined ? [] : journalShippingCommands(options.logGroupName)),
    ...(options.registryMirrors?.length ? [runtimeSetupCommand(`${AGENT_PATHS.node} ${AGENT_PATHS.bundle}`, options.containerRuntime ?? 'containerd', options.registryMirrors)] : []),
    'systemctl daemon-reload',
    `systemctl enable --now ${AGENT_SERVICE}`,
    ...(options.logGroupName === undefined ? [] : ['systemctl enable --now mayfly-journal.service']),
    `sleep ${AGENT_SETTLE_SECONDS}`,
    `systemctl is-active --quiet ${AGENT_SERVICE}`,
  ];
}

/** Installs the journal copy unit (started after daemon-reload) and the CloudWatch agent that tails it; logrotate keeps the copy small. */
function journalShippingCommands(logGroupName: string): string[] {
  const config = {
    logs: {
      logs_collected: {
        files: { collect_list: [{ file_path: AGENT_PATHS.logFile, log_group_name: logGroupName, log_stream_name: '{instance_id}' }] },
      },
    },
  };
  return [
    'dnf install -y amazon-cloudwatch-agent',
    'install -d -m 0750 /var/log/mayfly',
    `cat > ${AGENT_PATHS.journalUnit} <<'EOF'`,
    ...JOURNAL_COPY_UNIT.trimEnd().split('\n'),
    'EOF',
    "cat > /etc/logrotate.d/mayfly <<'EOF'",
    `${AGENT_PATHS.logFile} {`,
    '  daily',
    '  rotate 3',
    '  maxsize 100M',
    '  copytruncate',
    '  missingok',
    '  notifempty',
    '}',
    'EOF',
    `printf '%s\\n' ${shellQuote(JSON.stringify(config))} > ${AGENT_PATHS.cloudWatchConfig}`,
    `/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${AGENT_PATHS.cloudWatchConfig}`,
  ];
}
