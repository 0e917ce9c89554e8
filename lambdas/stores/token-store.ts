import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BOOL, N, S, TTL, readBool, readNumber, readString, type Item } from './attributes.ts';
import { isConditionFailure, withStoreErrors } from './dynamo-errors.ts';

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  /** sha256 hex of the secret; the secret itself is never stored. */
  readonly hash: string;
  readonly createdAt: number;
  /** Epoch ms; undefined: no expiry. */
  readonly expiresAt?: number;
  readonly revoked: boolean;
}

/**
 * Items:
 *   TOKENS / <id>            → name, hash, dates, revoked (the operator's list)
 *   TOKENHASH#<hash> / META  → id and expiry, for the lookup on every request; deleted on revoke
 */
export class DynamoTokenStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async create(token: TokenRecord): Promise<void> {
    const ttl: Item = token.expiresAt ? { [TTL]: N(Math.ceil(token.expiresAt / 1000)) } : {};
    const until: Item = token.expiresAt ? { validUntil: N(token.expiresAt) } : {};
    await withStoreErrors('createToken', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: S('TOKENS'),
            sk: S(token.id),
            id: S(token.id),
            name: S(token.name),
            hash: S(token.hash),
            createdAt: N(token.createdAt),
            ...until,
            revoked: BOOL(false),
            ...ttl,
          },
        }),
      ),
    );
    await withStoreErrors('indexToken', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: S(`TOKENHASH#${token.hash}`), sk: S('META'), id: S(token.id), ...until, ...ttl },
        }),
      ),
    );
  }

  async list(): Promise<TokenRecord[]> {
    const result = await withStoreErrors('listTokens', () =>
      this.client.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S('TOKENS') } }),
      ),
    );
    return (result.Items ?? []).map(toToken);
  }

  /** The token id a secret's hash belongs to, when it is live at `now`. */
  async lookup(hash: string, now: number): Promise<string | undefined> {
    const result = await withStoreErrors('lookupToken', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { pk: S(`TOKENHASH#${hash}`), sk: S('META') } })),
    );
    if (!result.Item) return undefined;
    const until = readNumber(result.Item, 'validUntil', Number.POSITIVE_INFINITY);
    return until > now ? readString(result.Item, 'id') : undefined;
  }

  /** False when no such token exists. */
  async revoke(id: string): Promise<boolean> {
    let attributes: Item | undefined;
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S('TOKENS'), sk: S(id) },
          UpdateExpression: 'SET revoked = :yes',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':yes': BOOL(true) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      attributes = result.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      return withStoreErrors('revokeToken', () => Promise.reject(error));
    }
    const hash = readString(attributes ?? {}, 'hash');
    await withStoreErrors('unindexToken', () =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { pk: S(`TOKENHASH#${hash}`), sk: S('META') } })),
    );
    return true;
  }
}

function toToken(item: Item): TokenRecord {
  const until = readNumber(item, 'validUntil', 0);
  return {
    id: readString(item, 'id'),
    name: readString(item, 'name'),
    hash: readString(item, 'hash'),
    createdAt: readNumber(item, 'createdAt'),
    ...(until ? { expiresAt: until } : {}),
    revoked: readBool(item, 'revoked'),
  };
}
