import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { TABLE_TTL_ATTRIBUTE } from '../../core/constants.ts';

/** Tiny typed helpers over raw DynamoDB attribute maps. */
export type Item = Record<string, AttributeValue>;

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });
export const BOOL = (value: boolean): AttributeValue => ({ BOOL: value });

export function readString(item: Item, name: string, fallback = ''): string {
  return item[name]?.S ?? fallback;
}

export function readNumber(item: Item, name: string, fallback = 0): number {
  const raw = item[name]?.N;
  return raw === undefined ? fallback : Number(raw);
}

export function readBool(item: Item, name: string): boolean {
  return item[name]?.BOOL ?? false;
}

export function ttlFromNow(seconds: number, now = Date.now()): AttributeValue {
  return N(Math.floor(now / 1000) + seconds);
}

export { TABLE_TTL_ATTRIBUTE as TTL };
