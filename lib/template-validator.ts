import type { IPolicyValidationContextBeta1, PolicyValidationPluginReportBeta1 } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';

/**
 * The template validator: cfn-guard with AWS Control Tower's proactive controls, run on every synth.
 *
 * Why the subclass: the plugin leaves `severity` unset, and once any finding is acknowledged
 * aws-cdk-lib recomputes a report's success as "no violation of severity error", so every
 * unacknowledged finding would then pass silently. Marking them `error` keeps them failing the synth.
 */
export class ControlTowerValidator extends CfnGuardValidator {
  public override validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const report = super.validate(context);
    return { ...report, violations: report.violations.map((violation) => ({ ...violation, severity: violation.severity ?? 'error' })) };
  }
}

/** The validator, or none where cfn-guard ships no binary (it has Linux and macOS, x64 and arm64 builds). */
export function templateValidators(): ControlTowerValidator[] {
  try {
    return [new ControlTowerValidator()];
  } catch (error) {
    console.warn(`template validator skipped: ${(error as Error).message}`);
    return [];
  }
}
