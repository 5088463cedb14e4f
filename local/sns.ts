/**
 * SNS on the local stand-ins: fauxqs serves SNS on the port it serves SQS on, with FIFO topics, SQS subscriptions,
 * raw delivery and filter policies on attributes or on the body (its README). Provisioning creates the topics and
 * subscriptions of the templates through these two calls. Not emulated: topic encryption, the FIFO topic's
 * archive and replay, high-throughput scopes, and the subscription's redrive policy (stored, never used).
 */
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { snsClient } from '#commons/clients';

const truthy = (value: unknown): boolean => value === true || value === 'true';
const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** CreateTopic from resolved template properties (FIFO and content-based deduplication are what fauxqs acts on). */
export async function createTopic(name: string, props: Record<string, unknown>): Promise<string> {
  const attributes: Record<string, string> = {};
  if (truthy(props.FifoTopic)) attributes.FifoTopic = 'true';
  if (props.ContentBasedDeduplication !== undefined) attributes.ContentBasedDeduplication = String(truthy(props.ContentBasedDeduplication));
  const created = await snsClient().send(new CreateTopicCommand({ Name: name, Attributes: attributes }));
  if (!created.TopicArn) throw new Error(`CreateTopic ${name} returned no TopicArn`);
  return created.TopicArn;
}

/** Subscribe from resolved template properties (topic and endpoint ARNs already resolved); returns the subscription ARN. */
export async function subscribe(props: Record<string, unknown>): Promise<string> {
  const attributes: Record<string, string> = {};
  if (props.RawMessageDelivery !== undefined) attributes.RawMessageDelivery = String(truthy(props.RawMessageDelivery));
  if (props.FilterPolicy !== undefined) attributes.FilterPolicy = asText(props.FilterPolicy);
  if (props.FilterPolicyScope !== undefined) attributes.FilterPolicyScope = String(props.FilterPolicyScope);
  if (props.RedrivePolicy !== undefined) attributes.RedrivePolicy = asText(props.RedrivePolicy);
  const subscribed = await snsClient().send(
    new SubscribeCommand({ TopicArn: String(props.TopicArn), Protocol: String(props.Protocol), Endpoint: String(props.Endpoint), Attributes: attributes, ReturnSubscriptionArn: true }),
  );
  if (!subscribed.SubscriptionArn) throw new Error(`Subscribe ${String(props.Endpoint)} to ${String(props.TopicArn)} returned no SubscriptionArn`);
  return subscribed.SubscriptionArn;
}
