import type { Template } from 'aws-cdk-lib/assertions';

/** One IAM statement of a synthesized template, with where it came from. */
export interface FoundStatement {
  readonly where: string;
  readonly actions: string[];
  readonly resources: unknown[];
  readonly conditions?: unknown;
}

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every Allow statement of every AWS::IAM::Policy and inline role policy in `template`. */
export function allowStatements(template: Template): FoundStatement[] {
  const found: FoundStatement[] = [];
  const collect = (where: string, document: { Statement?: unknown[] } | undefined) => {
    for (const raw of document?.Statement ?? []) {
      const statement = raw as { Effect: string; Action?: string | string[]; Resource?: unknown; Condition?: unknown };
      if (statement.Effect !== 'Allow') continue;
      found.push({ where, actions: asArray(statement.Action), resources: asArray(statement.Resource), conditions: statement.Condition });
    }
  };
  for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) collect(id, policy.Properties.PolicyDocument);
  for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const inline of role.Properties.Policies ?? []) collect(`${id}/${inline.PolicyName}`, inline.PolicyDocument);
  }
  return found;
}

/** Actions that read or write stored data (objects, items), where a `*` resource would leak everything. */
export const DATA_ACTION = /^(s3:(Get|Put|Delete)Object|dynamodb:(Get|Put|Update|Delete|BatchGet|BatchWrite)Item|dynamodb:(Query|Scan))/;

/** Statements that grant every action of a service (or of all services). */
export function wildcardActionGrants(statements: readonly FoundStatement[]): FoundStatement[] {
  return statements.filter((statement) => statement.actions.some((action) => action === '*' || action.endsWith(':*')));
}

/** Statements that grant a data action on `*`. */
export function wildcardDataGrants(statements: readonly FoundStatement[]): FoundStatement[] {
  return statements.filter(
    (statement) => statement.actions.some((action) => DATA_ACTION.test(action)) && statement.resources.some((resource) => resource === '*'),
  );
}
