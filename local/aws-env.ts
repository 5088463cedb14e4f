import { resetClients } from '#commons/clients';

/** Fixed fake credentials: the local stand-ins accept any, and fixed values keep DynamoDB Local scoping stable. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';
const FAKE_ACCESS_KEY_ID = 'localaccesskey';
const FAKE_SECRET_ACCESS_KEY = 'local-fake-secret-access-key';

export interface LocalEndpoints {
  dynamo?: string;
  sqs?: string;
  secrets?: string;
  sfn?: string;
}

/** The environment variables that point the AWS SDK v3 (and so the unchanged handlers) at the local stand-ins. */
export function localAwsEnv(endpoints: LocalEndpoints): Record<string, string> {
  const vars: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: FAKE_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: FAKE_SECRET_ACCESS_KEY,
  };
  if (endpoints.dynamo) {
    vars.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamo;
    // DynamoDB Local serves the Streams API on the same port.
    vars.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = endpoints.dynamo;
  }
  if (endpoints.sqs) {
    vars.AWS_ENDPOINT_URL_SQS = endpoints.sqs;
    // fauxqs serves SNS on the same port (the change feed's topic).
    vars.AWS_ENDPOINT_URL_SNS = endpoints.sqs;
  }
  if (endpoints.secrets) vars.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoints.secrets;
  if (endpoints.sfn) vars.AWS_ENDPOINT_URL_SFN = endpoints.sfn;
  return vars;
}

/** Writes the variables into process.env and drops cached SDK clients so the next call uses them. */
export function applyEnv(vars: Record<string, string>): void {
  // A session token from the host would be sent along with the fake keys; drop it.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, vars);
  resetClients();
}
