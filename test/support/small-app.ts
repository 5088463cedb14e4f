import type { StackTemplate } from '#local/template';
import { cachedTemplates } from '#local/synth';

/** Templates of the small product-shaped CDK app in small-app-cdk.ts (synthesized once, then cached). */
export function smallAppTemplates(): Promise<StackTemplate[]> {
  return cachedTemplates('small-app', ['test/support/small-app-cdk.ts', 'package-lock.json'], async () =>
    (await import('./small-app-cdk.ts')).synthSmallApp(),
  );
}
