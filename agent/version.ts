import packageJson from '../package.json' with { type: 'json' };

/** This agent's release (package.json `version`): `mayfly --version`, host heartbeats, the console's host list. */
export const AGENT_VERSION: string = packageJson.version;
