/**
 * Meters a DynamoDBClient without touching the stores: a middleware asks for
 * ReturnConsumedCapacity on every data-plane command and sums what DynamoDB
 * reports, plus request counts and writes per partition key.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const DATA_COMMANDS = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactGetItemsCommand',
  'TransactWriteItemsCommand',
]);
const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

export interface CapacityTotals {
  requests: number;
  readRequests: number;
  writeRequests: number;
  readUnits: number;
  writeUnits: number;
  /** Conditional writes refused (DynamoDB still bills at least 1 write unit each; counted in writeUnits). */
  conditionFailures: number;
  byCommand: Record<string, number>;
}

export function emptyTotals(): CapacityTotals {
  return { requests: 0, readRequests: 0, writeRequests: 0, readUnits: 0, writeUnits: 0, conditionFailures: 0, byCommand: {} };
}

export class CapacityMeter {
  totals: CapacityTotals = emptyTotals();
  /** Writes per partition key value since the last reset. */
  writesByKey = new Map<string, number>();

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName ?? '');
        if (!DATA_COMMANDS.has(command)) return next(args);
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'TOTAL';
        const isWrite = WRITE_COMMANDS.has(command);
        this.count(command, isWrite, input);
        try {
          const result = await next(args);
          this.addUnits(isWrite, (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
          return result;
        } catch (error) {
          if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
            this.totals.conditionFailures++;
            this.totals.writeUnits += 1;
          }
          throw error;
        }
      },
      { step: 'initialize', name: 'benchConsumedCapacity' },
    );
  }

  reset(): void {
    this.totals = emptyTotals();
    this.writesByKey = new Map();
  }

  busiestWriteKey(): { key: string; writes: number } | undefined {
    let best: { key: string; writes: number } | undefined;
    for (const [key, writes] of this.writesByKey) if (!best || writes > best.writes) best = { key, writes };
    return best;
  }

  private count(command: string, isWrite: boolean, input: Record<string, unknown>): void {
    this.totals.requests++;
    this.totals.byCommand[command] = (this.totals.byCommand[command] ?? 0) + 1;
    if (!isWrite) {
      this.totals.readRequests++;
      return;
    }
    this.totals.writeRequests++;
    const key = ((input.Item ?? input.Key) as { pk?: { S?: string } } | undefined)?.pk?.S;
    if (key) this.writesByKey.set(key, (this.writesByKey.get(key) ?? 0) + 1);
  }

  private addUnits(isWrite: boolean, consumed: unknown): void {
    const list = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number }[];
    for (const entry of list) {
      if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
        this.totals.readUnits += entry.ReadCapacityUnits ?? 0;
        this.totals.writeUnits += entry.WriteCapacityUnits ?? 0;
      } else if (isWrite) this.totals.writeUnits += entry.CapacityUnits ?? 0;
      else this.totals.readUnits += entry.CapacityUnits ?? 0;
    }
  }
}
