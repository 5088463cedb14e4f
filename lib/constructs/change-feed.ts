import { CfnOutput, Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CHANGE_FEED_TAG, checkFeedFilter, feedFilterPolicy, TEAM_NAME_PATTERN, type FeedFilter } from '#feed/feed-filter';
import { grantQueueConsume, grantQueueSend, grantStreamRead, grantTopicPublish } from '../grants.ts';
import { restrictGrantsToAwsServices, StackEncryptionKey } from './encryption-key.ts';
import { ProducerSyncFunction } from './node-function.ts';
import { notifyingAlarm } from './observability.ts';

/**
 * The change feed (docs/STREAM-CONTRACT.md §7): one publisher reads the data table's stream (the only
 * product reader besides the optional example consumer: a shard serves about two readers) and
 * publishes typed change events to an SNS FIFO topic, `MessageGroupId` = NPN; every team gets its own
 * SQS FIFO queue subscribed with a filter policy on the event body. The topic archives every message,
 * so a team can replay a time range into its queue.
 */

export interface ChangeFeedProps {
  /** The data table; its stream (NEW_AND_OLD_IMAGES) feeds the publisher. */
  readonly dataTable: dynamodb.ITable;
  /** Where the feed's alarms notify (the pipeline's alarm topic). */
  readonly alarmTopic: sns.ITopic;
  /** Days the topic keeps every message for replay (1-365). @default 14 (as long as a team queue keeps a message) */
  readonly archiveDays?: number;
  /** Stream records per publisher invocation. @default 100 */
  readonly batchSize?: number;
  /**
   * How long a failing stream record is retried before it goes to the publisher's dead-letter queue
   * (the shard waits meanwhile, so order is kept). @default 6 hours
   */
  readonly maxRecordAge?: Duration;
}

/** Options of one team's feed: its filter (FeedFilter: record types, states, NPNs) and its queue. */
export interface TeamFeedOptions extends FeedFilter {
  /** Receives of a message before it moves to the team's dead-letter queue (which unblocks its NPN). @default 5 */
  readonly maxReceiveCount?: number;
  /** The queue's visibility timeout: at least 6 x the consuming function's timeout. @default 5 minutes */
  readonly visibilityTimeout?: Duration;
  /** How long an unread change waits in the queue (max 14 days; older ones can be replayed from the archive). @default 14 days */
  readonly retentionPeriod?: Duration;
}

const SNS_PRINCIPAL = new iam.ServicePrincipal('sns.amazonaws.com');

/** An encrypted, TLS-only dead-letter queue keeping messages 14 days; `of` says whose (the SQS3 acknowledgement). */
function deadLetterQueue(scope: Construct, id: string, key: kms.IKey, { fifo, of }: { fifo: boolean; of: string }): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    ...(fifo ? { fifo: true } : {}),
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    // Marks it a dead-letter queue (CT.SQS.PR.1).
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: `It is the dead-letter queue of ${of}.` });
  return queue;
}

/** The publisher an hour behind the stream leaves time to act before records expire (24 hours). */
const PUBLISHER_LAG_MS = 60 * 60 * 1000;

/** A team name as construct ids and output names spell it: `all-changes` → `AllChanges`. */
const outputId = (name: string): string => name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase()).replace(/-/g, '');

/** One team's durable, filtered feed: a FIFO queue (+ FIFO dead-letter queue) subscribed to the topic. */
export class TeamChangeFeed extends Construct {
  /** The team's name (as given to addTeam / addChangeFeed). */
  public readonly teamName: string;
  /** The filter, checked, deduplicated and sorted. */
  public readonly filter: FeedFilter;
  /** The subscription filter policy (MessageBody scope); undefined = every change. */
  public readonly filterPolicy: Record<string, unknown> | undefined;
  /** The team's FIFO queue: its changes, in order per NPN. */
  public readonly queue: sqs.Queue;
  /** Messages received `maxReceiveCount` times, and those SNS could not deliver to the queue. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The queue's subscription to the topic (raw delivery, the filter policy on the body, SNS redrive to the DLQ). */
  public readonly subscription: sns.CfnSubscription;
  /** Something is in the team's dead-letter queue. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: TeamFeedOptions & { teamName: string; topic: sns.ITopic; queueKey: kms.IKey; alarmTopic: sns.ITopic }) {
    super(scope, id);
    this.teamName = props.teamName;
    this.filter = checkFeedFilter(props, `change feed ${props.teamName}`);
    this.filterPolicy = feedFilterPolicy(this.filter);
    const key = props.queueKey;

    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', key, {
      fifo: true,
      of: 'the team queue and of its SNS subscription (SNS redrive policies are not SQS redrive policies)',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      // High throughput FIFO: quota and deduplication per message group (NPN), so a backfill is not capped at 300 messages/s.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(5),
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    for (const queue of [this.queue, this.deadLetterQueue]) Tags.of(queue).add(CHANGE_FEED_TAG, props.teamName);

    // Written as the resource itself rather than with SqsSubscription: the filter needs "$or", which the typed
    // builders cannot express, and the grants to SNS below name this topic whatever the app's feature flags say.
    const fromTopic = { ArnEquals: { 'aws:SourceArn': props.topic.topicArn } };
    const policies = [this.queue, this.deadLetterQueue].map(
      (queue) =>
        queue.addToResourcePolicy(
          new iam.PolicyStatement({ principals: [SNS_PRINCIPAL], actions: ['sqs:SendMessage'], resources: [queue.queueArn], conditions: fromTopic }),
        ).policyDependable!,
    );
    this.subscription = new sns.CfnSubscription(this, 'Subscription', {
      topicArn: props.topic.topicArn,
      protocol: 'sqs',
      endpoint: this.queue.queueArn,
      // The SQS body is the change event itself, not an SNS envelope.
      rawMessageDelivery: true,
      // Changes SNS cannot deliver (a queue or key policy gone wrong) wait in the DLQ instead of being dropped.
      redrivePolicy: { deadLetterTargetArn: this.deadLetterQueue.queueArn },
      ...(this.filterPolicy ? { filterPolicy: this.filterPolicy, filterPolicyScope: 'MessageBody' } : {}),
    });
    for (const policy of policies) this.subscription.node.addDependency(policy);

    this.deadLetterAlarm = notifyingAlarm(this, 'DeadLetterQueueNotEmpty', props.alarmTopic, {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `Changes for the ${props.teamName} feed could not be delivered or processed; they are in its dead-letter queue (docs/STREAM-CONTRACT.md §7.3).`,
    });

    const name = outputId(props.teamName);
    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl, description: `The ${props.teamName} change feed` }).overrideLogicalId(`${name}FeedQueueUrl`);
    new CfnOutput(this, 'QueueArn', { value: this.queue.queueArn }).overrideLogicalId(`${name}FeedQueueArn`);
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl }).overrideLogicalId(`${name}FeedDeadLetterQueueUrl`);
    new CfnOutput(this, 'SubscriptionArn', { value: this.subscription.ref, description: 'Replays from the archive are started on this subscription' }).overrideLogicalId(`${name}FeedSubscriptionArn`);
  }

  /** Lets a consumer (a function's role, or any principal) receive and delete the team's changes, and decrypt them. */
  public grantConsume(grantee: iam.IGrantable & Construct): void {
    grantQueueConsume(grantee, this.queue);
  }
}

/** The topic, the publisher and the teams' feeds. */
export class ChangeFeed extends Construct {
  /** Encrypts the topic, the publisher's dead-letter queue and its logs. */
  public readonly encryptionKey: StackEncryptionKey;
  /**
   * Encrypts the team queues; team consumers need kms:Decrypt on it (output `FeedQueueKeyArn`). Not the topic's
   * key: a queue key's policy names the topic (SNS may encrypt for it), and the topic names its key.
   */
  public readonly queueKey: kms.Key;
  /** SNS FIFO topic of change events, archived for replay. */
  public readonly topic: sns.Topic;
  /** Reads the data table's stream and publishes to the topic. */
  public readonly publisherFunction: ProducerSyncFunction;
  /** Stream records the publisher gave up on after `maxRecordAge` (their shard and sequence numbers). */
  public readonly publisherDeadLetterQueue: sqs.Queue;
  public readonly publisherErrorsAlarm: cloudwatch.Alarm;
  /** The publisher is over an hour behind the stream. */
  public readonly publisherLagAlarm: cloudwatch.Alarm;
  public readonly publisherDeadLetterAlarm: cloudwatch.Alarm;
  private readonly teams = new Map<string, TeamChangeFeed>();
  private readonly alarmTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: ChangeFeedProps) {
    super(scope, id);
    this.alarmTopic = props.alarmTopic;
    const archiveDays = props.archiveDays ?? 14;
    if (!Number.isInteger(archiveDays) || archiveDays < 1 || archiveDays > 365) throw new Error(`archiveDays must be a whole number of days from 1 to 365, got ${archiveDays}`);

    this.encryptionKey = new StackEncryptionKey(this, 'FeedKey', { description: 'ProducerSync: encrypts the change feed topic, the team queues and the publisher logs' });
    const key = this.encryptionKey.key;
    this.queueKey = new kms.Key(this, 'QueueKey', {
      description: 'ProducerSync: encrypts the change feed team queues (consumers decrypt with it)',
      enableKeyRotation: true,
      // Queued changes and replays outlive a deleted stack only as long as this key does.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    restrictGrantsToAwsServices(this.queueKey);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'ProducerSync changes',
      fifo: true,
      // Deduplication ids are unique per change, so topic-wide deduplication adds nothing; per-group scope lifts the 300 messages/s cap.
      fifoThroughputScope: sns.FifoThroughputScope.MESSAGE_GROUP,
      messageRetentionPeriodInDays: archiveDays,
      masterKey: key,
      enforceSSL: true,
    });
    // SNS encrypts what it delivers to the team queues with their key, for this topic only.
    this.queueKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheFeedTopicToEncryptForTeamQueues',
        principals: [SNS_PRINCIPAL],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy "*" means this key
        conditions: { ArnEquals: { 'aws:SourceArn': this.topic.topicArn } },
      }),
    );

    this.publisherDeadLetterQueue = deadLetterQueue(this, 'PublisherDeadLetterQueue', key, {
      fifo: false,
      of: "the publisher's stream event source mapping, its on-failure destination (not an SQS redrive target)",
    });

    this.publisherFunction = new ProducerSyncFunction(this, 'FeedPublisherFunction', {
      entry: 'lambdas/feed/publisher.ts',
      name: 'feed-publisher',
      description: 'ProducerSync: publish data table changes to the change feed topic',
      timeout: Duration.minutes(1),
      logEncryptionKey: key,
      environment: { CHANGE_TOPIC_ARN: this.topic.topicArn },
    });
    const streamArn = props.dataTable.tableStreamArn;
    if (!streamArn) throw new Error('the data table has no stream');
    const role = this.publisherFunction.role;
    this.publisherFunction.function.addEventSourceMapping('DataTableStreamSource', {
      eventSourceArn: streamArn,
      // The feed carries changes from its deployment on; earlier ones are in the table (docs/STREAM-CONTRACT.md §7.4).
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: props.batchSize ?? 100,
      // One batch per shard at a time (parallelization factor 1): records of a shard are published in stream order.
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      // Mapped by hand (not SqsDlq) so the role gets SendMessage and the key through SQS only.
      onFailure: { bind: () => ({ destination: this.publisherDeadLetterQueue.queueArn }) },
    });
    grantStreamRead(role, props.dataTable);
    grantQueueSend(role, this.publisherDeadLetterQueue);
    grantTopicPublish(role, this.topic);

    const fiveMinutes = Duration.minutes(5);
    this.publisherErrorsAlarm = notifyingAlarm(this, 'PublisherErrors', props.alarmTopic, {
      metric: this.publisherFunction.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'The change feed publisher failed (a failed batch is retried from its first unpublished change).',
    });
    this.publisherLagAlarm = notifyingAlarm(this, 'PublisherLag', props.alarmTopic, {
      metric: this.publisherFunction.function.metric('IteratorAge', { period: fiveMinutes, statistic: 'Maximum' }),
      threshold: PUBLISHER_LAG_MS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'The change feed publisher is over an hour behind the data table stream (records expire after 24 hours).',
    });
    this.publisherDeadLetterAlarm = notifyingAlarm(this, 'PublisherDeadLetterQueueNotEmpty', props.alarmTopic, {
      metric: this.publisherDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'Stream records were given up on by the change feed publisher: the teams missed those changes (docs/STREAM-CONTRACT.md §7.4).',
    });

    new CfnOutput(this, 'TopicArn', { value: this.topic.topicArn, description: 'The change feed topic (SNS FIFO)' }).overrideLogicalId('FeedTopicArn');
    new CfnOutput(this, 'QueueKeyArn', { value: this.queueKey.keyArn, description: 'Team consumers need kms:Decrypt on this key' }).overrideLogicalId('FeedQueueKeyArn');
    new CfnOutput(this, 'PublisherDeadLetterQueueUrl', { value: this.publisherDeadLetterQueue.queueUrl }).overrideLogicalId('FeedPublisherDeadLetterQueueUrl');
  }

  /** The teams' feeds, by name. */
  public get teamFeeds(): ReadonlyMap<string, TeamChangeFeed> {
    return this.teams;
  }

  /** Adds a team's feed: its FIFO queue receives exactly the changes `options` selects, in order per NPN. */
  public addTeam(name: string, options: TeamFeedOptions = {}): TeamChangeFeed {
    if (!TEAM_NAME_PATTERN.test(name)) throw new Error(`change feed name must be 1-40 letters, digits or hyphens starting with a letter, got ${JSON.stringify(name)}`);
    const clash = [...this.teams.keys()].find((known) => outputId(known) === outputId(name));
    if (clash) throw new Error(`change feed ${JSON.stringify(name)} already exists${clash === name ? '' : ` (as ${JSON.stringify(clash)})`}`);
    const team = new TeamChangeFeed(this, `Team${outputId(name)}`, {
      ...options,
      teamName: name,
      topic: this.topic,
      queueKey: this.queueKey,
      alarmTopic: this.alarmTopic,
    });
    this.teams.set(name, team);
    return team;
  }

}
