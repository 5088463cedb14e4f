// Placeholder so the CDK app can bundle while the handler is being written; replaced by its owner.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
