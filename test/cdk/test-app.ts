import { App } from 'aws-cdk-lib';

/**
 * An App for assertion tests. CDK's built-in CloudFormation validation (a WASM rules engine,
 * several seconds per synth on this machine) stays on for `npm run synth`; here the
 * assertions check what matters to Mayfly.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    builtinCloudFormationValidation: false,
    // As in cdk.json.
    context: { '@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig': true, ...context },
  });
}
