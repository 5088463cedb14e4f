/** Readers for synthesized templates, shared by the CDK assertion tests. */
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';

export type Json = Record<string, unknown>;
export type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

/** The one logical id of `type` that starts with `prefix` (fails the test if there are none or several). */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids, `${type} ${prefix}`).toHaveLength(1);
  return ids[0]!;
}

/** Every statement of every policy attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const roleId = logicalIdOf(template, 'AWS::IAM::Role', rolePrefix);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }[];
  return policies.filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId)).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

/** Properties of the Lambda function whose logical id starts with `prefix`. */
export function functionProps(template: Template, prefix: string): Json {
  return (template.findResources('AWS::Lambda::Function')[logicalIdOf(template, 'AWS::Lambda::Function', prefix)] as { Properties: Json }).Properties;
}
