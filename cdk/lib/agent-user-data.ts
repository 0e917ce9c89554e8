import { AGENT_NODE_OPTIONS, DEFAULT_PEER_PORT } from '../../core/constants.ts';

/** Where the agent lives on an EC2 host; shared by the user data and the systemd unit. */
export const AGENT_PATHS = {
  home: '/opt/mayfly',
  bundle: '/opt/mayfly/mayfly.mjs',
  node: '/opt/mayfly/bin/node',
  envFile: '/etc/mayfly/agent.env',
  unit: '/etc/systemd/system/mayfly-agent.service',
} as const;

export const AGENT_SERVICE = 'mayfly-agent.service';

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

export interface AgentInstallOptions {
  /** Scheduler endpoint (may be a CloudFormation token). */
  readonly schedulerUrl: string;
  /** `s3://bucket/key` of the agent bundle asset. */
  readonly bundleS3Url: string;
  readonly region: string;
  readonly cacheDir: string;
  /** Extra MAYFLY_* settings written to the environment file. */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * Shell commands (Amazon Linux 2023) that install Node, fetch the agent bundle, write its
 * environment and systemd unit, and start it. Site = availability zone and peer id =
 * instance id, read from IMDSv2, so swarms stay AZ-local and a reboot keeps its identity.
 */
export function agentInstallCommands(options: AgentInstallOptions): string[] {
  const extra = Object.entries(options.environment ?? {}).map(([key, value]) => `${key}=${value}`);
  return [
    'set -euo pipefail',
    'dnf install -y nodejs22 || dnf install -y nodejs',
    `install -d -m 0755 ${AGENT_PATHS.home}/bin /etc/mayfly`,
    `ln -sf "$(command -v node-22 || command -v node)" ${AGENT_PATHS.node}`,
    `aws s3 cp --region ${options.region} '${options.bundleS3Url}' ${AGENT_PATHS.bundle}`,
    'id mayfly >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin mayfly',
    `install -d -o mayfly -g mayfly -m 0750 ${options.cacheDir}`,
    "IMDS_TOKEN=$(curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
    'imds() { curl -sf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "http://169.254.169.254/latest/meta-data/$1"; }',
    `cat > ${AGENT_PATHS.envFile} <<EOF`,
    `MAYFLY_SCHEDULER_URL=${options.schedulerUrl}`,
    'MAYFLY_AUTH=sigv4',
    'MAYFLY_SITE=$(imds placement/availability-zone)',
    'MAYFLY_PEER_ID=$(imds instance-id)',
    'MAYFLY_ADVERTISE_HOST=$(imds local-ipv4)',
    `MAYFLY_PEER_PORT=${DEFAULT_PEER_PORT}`,
    `MAYFLY_DATA_DIR=${options.cacheDir}`,
    `AWS_REGION=${options.region}`,
    ...extra,
    'EOF',
    `cat > ${AGENT_PATHS.unit} <<'EOF'`,
    ...AGENT_SYSTEMD_UNIT.trimEnd().split('\n'),
    'EOF',
    'systemctl daemon-reload',
    `systemctl enable --now ${AGENT_SERVICE}`,
  ];
}
