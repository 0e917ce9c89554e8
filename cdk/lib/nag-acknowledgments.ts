import { Stack, Validations } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';

/**
 * Acknowledged rule findings, written next to the code that causes them. The AwsSolutions
 * pack (cdk-nag) runs over the app in test/cdk/nag.test.ts; anything it finds that is not
 * acknowledged here, with its reason, fails that test.
 */

/** Records that rule `id` does not apply to `scope` (and everything under it), and why. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The id of one wildcard finding, e.g. `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket/*]`:
 * cdk-nag names each wildcard resource in a policy by its template value, with references
 * written `<LogicalId>` / `<LogicalId.Attribute>`.
 */
export function wildcardFinding(scope: IConstruct, kind: 'Resource' | 'Action', value: string): string {
  return `AwsSolutions-IAM5[${kind}::${flatten(Stack.of(scope).resolve(value))}]`;
}

/** Acknowledges the wildcard findings of `resources` granted to `principal` (when it is a construct). */
export function acknowledgeWildcardResources(principal: unknown, resources: readonly string[], reason: string): void {
  if (!Construct.isConstruct(principal)) return;
  for (const resource of resources) {
    const finding = wildcardFinding(principal, 'Resource', resource);
    if (finding.includes('*')) acknowledge(principal, finding, reason);
  }
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(delimiter);
    }
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if ('Ref' in node) return `<${flatten(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
