import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { originPrefixes, type MayflyOrigin } from './origin.ts';

export interface MayflyOriginEventsProps {
  /** Buckets (and prefixes) whose new objects are preheated. */
  readonly origins: MayflyOrigin[];
  /** The function that handles S3 ObjectCreated events (the manager's preheat handler). */
  readonly handler: lambda.IFunction;
}

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
  }
}
