import { App } from 'aws-cdk-lib';
import { MayflyStack } from '../lib/mayfly-stack.ts';
import { readStackConfig } from '../lib/stack-config.ts';

// Wiring only. Stacks are environment-agnostic so `cdk synth` needs no account; a VPC
// lookup (`-c vpcId=…`) is the one thing that needs the CLI's account and region.
const app = new App();
const config = readStackConfig(app.node);
new MayflyStack(app, app.node.tryGetContext('stackName') ?? 'Mayfly', {
  config,
  description: 'Mayfly: peer-to-peer distribution of S3 artifacts (control plane, agents, dashboard)',
  env: config.vpcId ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } : undefined,
});
app.synth();
