import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RegistrationCounter } from '../domain/registration-limit.ts';
import { N, TTL } from './attributes.ts';
import { conditionalWrite } from './dynamo-errors.ts';
import { registrationCountKey } from './keys.ts';

/** One conditional counter item per identity and minute; it expires (TTL) two minutes after its window. */
export class DynamoRegistrationCounter implements RegistrationCounter {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async take(peerId: string, windowStart: number, cap: number): Promise<boolean> {
    const counted = await conditionalWrite('countRegistration', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: registrationCountKey(peerId, windowStart),
          UpdateExpression: 'ADD n :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(n) OR n < :cap',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: { ':one': N(1), ':cap': N(cap), ':ttl': N(Math.ceil(windowStart / 1000) + 180) },
        }),
      ),
    );
    return counted !== undefined;
  }
}
