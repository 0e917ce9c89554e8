/** Mayfly's CDK construct library: compose these in your own app, or deploy cdk/bin/app.ts. */
export { MayflyAgentFleet, type MayflyAgentFleetProps } from './lib/agent-fleet.ts';
export { AGENT_SYSTEMD_UNIT, agentInstallCommands, type AgentInstallOptions } from './lib/agent-user-data.ts';
export { CONTROL_PLANE_TABLE_ACTIONS, MayflyControlPlane, type IMayflyScheduler, type MayflyControlPlaneProps } from './lib/control-plane.ts';
export { MayflyDashboard, type MayflyDashboardProps } from './lib/dashboard.ts';
export { MayflyEcsDaemon, type MayflyEcsDaemonProps } from './lib/ecs-daemon.ts';
export { MayflyOriginEvents, type MayflyOriginEventsProps } from './lib/origin-events.ts';
export { isDigestPinned } from './lib/agent-image.ts';
export type { MayflyOrigin, OriginEntry } from './lib/origin.ts';
export { grantOriginReads } from './lib/origin-grants.ts';
export { MayflyStack, type MayflyStackProps } from './lib/mayfly-stack.ts';
export { readStackConfig, type MayflyStackConfig } from './lib/stack-config.ts';
