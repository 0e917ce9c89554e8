import { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { acknowledge } from './nag-acknowledgments.ts';
import { originPrefixes, type MayflyOrigin } from './origin.ts';

export interface MayflyOriginEventsProps {
  /** Buckets (and prefixes) whose new objects are preheated. */
  readonly origins: MayflyOrigin[];
  /** The function that handles S3 ObjectCreated events (the manager's preheat handler). */
  readonly handler: lambda.IFunction;
}

/** The construct id aws-cdk-lib gives its bucket-notifications custom resource handler. */
const NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/**
 * Origin wiring: every ObjectCreated event under a configured prefix invokes the preheat
 * handler, so seed agents can pull a new artifact before the fleet asks for it.
 * S3 rejects overlapping prefixes for one event type on one bucket; give disjoint ones.
 */
export class MayflyOriginEvents extends Construct {
  /** Bucket notifications created, one per bucket and prefix. */
  readonly notificationCount: number;

  constructor(scope: Construct, id: string, props: MayflyOriginEventsProps) {
    super(scope, id);
    const destination = new s3n.LambdaDestination(props.handler);
    let count = 0;
    for (const origin of props.origins) {
      for (const prefix of originPrefixes(origin)) {
        origin.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, ...(prefix ? [{ prefix }] : []));
        count++;
      }
    }
    this.notificationCount = count;
    // CDK's own singleton that writes bucket notification configurations (one per stack).
    const handler = Stack.of(this).node.tryFindChild(NOTIFICATIONS_HANDLER_ID);
    if (handler) {
      acknowledge(
        handler,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's bucket-notifications handler (a deploy-time custom resource) comes with this role; only its logs use the policy.",
      );
    }
  }
}
