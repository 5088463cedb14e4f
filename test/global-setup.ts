// Replaced by the local stand-ins work: starts one DynamoDB Local for the whole test run.
export default function setup(): void {}
