/**
 * The synthesized state machine definition as plain ASL, for the CDK tests: intrinsics resolved, each
 * function ARN named after its logical id (`arn:aws:lambda:us-east-1:123456789012:function:<LogicalId>`).
 */
type Json = Record<string, unknown>;

const FUNCTION_ARN_PREFIX = 'arn:aws:lambda:us-east-1:123456789012:function:';

function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v['Fn::Join']) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolve).join(separator);
  }
  if (v.Ref === 'AWS::Partition') return 'aws';
  if (v.Ref === 'AWS::Region') return 'us-east-1';
  if (v.Ref === 'AWS::AccountId') return '123456789012';
  if (v['Fn::GetAtt']) return `${FUNCTION_ARN_PREFIX}${(v['Fn::GetAtt'] as string[])[0]}`;
  throw new Error(`unexpected intrinsic ${JSON.stringify(v)}`);
}

/** The definition text of a template's `AWS::StepFunctions::StateMachine` resource. */
export const definitionTextOf = (resource: { Properties?: Record<string, unknown> }): string => resolve(resource.Properties?.DefinitionString);
