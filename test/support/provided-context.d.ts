export {};

declare module 'vitest' {
  interface ProvidedContext {
    /** DynamoDB Local endpoint started once per run by test/global-setup.ts. */
    dynamoEndpoint: string;
  }
}
