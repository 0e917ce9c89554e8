import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AgentBinding, TokenGrant, TokenRecord, TokenScope, TokenStore } from '../domain/token.ts';
import { BOOL, N, S, TTL, readBool, readNumber, readString, type Item } from './attributes.ts';
import { conditionalWrite, withStoreErrors } from './dynamo-errors.ts';
import { TOKENS_PARTITION, tokenHashKey, tokenKey } from './keys.ts';

/**
 * Items (keys.ts): the token (name, hash, dates, revoked, scope and binding: the operator's list),
 * and its hash's index (id, expiry, scope and binding, for the lookup on every request; deleted on revoke).
 */
export class DynamoTokenStore implements TokenStore {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async create(token: TokenRecord): Promise<void> {
    const ttl: Item = token.expiresAt ? { [TTL]: N(Math.ceil(token.expiresAt / 1000)) } : {};
    const until: Item = token.expiresAt ? { validUntil: N(token.expiresAt) } : {};
    const grant: Item = { scope: S(token.scope ?? 'operator'), ...(token.agent ? { agent: S(JSON.stringify(token.agent)) } : {}) };
    await withStoreErrors('createToken', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...tokenKey(token.id),
            id: S(token.id),
            name: S(token.name),
            hash: S(token.hash),
            createdAt: N(token.createdAt),
            ...until,
            revoked: BOOL(false),
            ...grant,
            ...ttl,
          },
        }),
      ),
    );
    await withStoreErrors('indexToken', () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...tokenHashKey(token.hash), id: S(token.id), ...until, ...grant, ...ttl },
        }),
      ),
    );
  }

  async list(): Promise<TokenRecord[]> {
    const result = await withStoreErrors('listTokens', () =>
      this.client.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S(TOKENS_PARTITION) } }),
      ),
    );
    return (result.Items ?? []).map(toToken);
  }

  async lookup(hash: string, now: number): Promise<TokenGrant | undefined> {
    const result = await withStoreErrors('lookupToken', () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: tokenHashKey(hash) })),
    );
    if (!result.Item) return undefined;
    const until = readNumber(result.Item, 'validUntil', Number.POSITIVE_INFINITY);
    if (until <= now) return undefined;
    return { id: readString(result.Item, 'id'), ...grantOf(result.Item) };
  }

  async revoke(id: string): Promise<boolean> {
    const result = await conditionalWrite('revokeToken', () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: tokenKey(id),
          UpdateExpression: 'SET revoked = :yes',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':yes': BOOL(true) },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (!result) return false;
    const hash = readString(result.Attributes ?? {}, 'hash');
    await withStoreErrors('unindexToken', () =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: tokenHashKey(hash) })),
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
    ...grantOf(item),
  };
}

function grantOf(item: Item): { scope: TokenScope; agent?: AgentBinding } {
  const scope: TokenScope = readString(item, 'scope') === 'agent' ? 'agent' : 'operator';
  const agent = readString(item, 'agent');
  return { scope, ...(scope === 'agent' && agent ? { agent: JSON.parse(agent) as AgentBinding } : {}) };
}
