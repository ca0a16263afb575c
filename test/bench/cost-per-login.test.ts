import { describe, expect, it } from 'vitest';

import { dynamoDbItemBytes, type LoginCostResult, renderLoginCost } from '#bench/cost-per-login';

const spread = (p50: number, p95: number, p99: number) => ({ p50, p95, p99, max: p99 });

function result(overrides: Partial<LoginCostResult> = {}): LoginCostResult {
  return {
    logins: 50,
    seconds: 2.091,
    routes: {
      sessions: {
        lambda: { orders: 1 },
        dynamodb: { PutItem: { requests: 1, units: 1, unreported: 0, consistent: 0 } },
        wechat: { jscode2session: 1 },
        latencyMs: spread(20.954, 32.56, 41.69),
        handlerMeanMs: 21.11,
      },
      decrypt: {
        lambda: { orders: 1 },
        dynamodb: { GetItem: { requests: 1, units: 1, unreported: 0, consistent: 1 } },
        wechat: {},
        latencyMs: spread(13.22, 29.25, 39.91),
        handlerMeanMs: 13,
      },
    },
    sqsRequests: 0,
    dynamodbBetween: 0,
    streamRequests: 24,
    session: { bytes: 273, attributes: ['appid', 'pk', 'sk'], putUnits: 1 },
    ...overrides,
  };
}

describe('dynamoDbItemBytes (the DynamoDB developer guide’s item size rules)', () => {
  it('counts names and UTF-8 string bytes, not characters', () => {
    // "pk" 2 + 3, "名" 3 + "值" 3
    expect(dynamoDbItemBytes({ pk: { S: 'abc' }, 名: { S: '值' } })).toBe(11);
  });

  it('counts a number as 1 byte per two significant digits plus 1, zeros at either end trimmed', () => {
    expect(dynamoDbItemBytes({ t: { N: '1700000000' } })).toBe(1 + 2);
    expect(dynamoDbItemBytes({ t: { N: '1712345678' } })).toBe(1 + 6);
    expect(dynamoDbItemBytes({ t: { N: '-0.00123' } })).toBe(1 + 3);
  });

  it('counts binaries raw, booleans and null as 1, and lists and maps with their overhead', () => {
    expect(dynamoDbItemBytes({ b: { B: new Uint8Array(16) } })).toBe(1 + 16);
    expect(dynamoDbItemBytes({ f: { BOOL: false }, n: { NULL: true } })).toBe(4);
    // 3 overhead + per element 1 + value: "ab" 2, "c" 1
    expect(dynamoDbItemBytes({ l: { L: [{ S: 'ab' }, { S: 'c' }] } })).toBe(1 + 3 + 3 + 2);
    // 3 overhead + 1 + name "k" 1 + value 2
    expect(dynamoDbItemBytes({ m: { M: { k: { S: 'xy' } } } })).toBe(1 + 3 + 1 + 1 + 2);
    expect(dynamoDbItemBytes({ s: { SS: ['a', 'bc'] } })).toBe(1 + 3);
  });
});

describe('renderLoginCost', () => {
  it('prints the totals per login and each route’s operations, calls and percentiles', () => {
    const text = renderLoginCost(result());
    expect(text).toContain('Lambda invocations  2\n');
    expect(text).toContain('DynamoDB writes     1 requests, 1 WCU');
    expect(text).toContain('DynamoDB PutItem    1 requests, 1 WCU');
    expect(text).toContain('DynamoDB GetItem    1 requests, 1 RCU, 1 consistent');
    expect(text).toContain('WeChat API calls    jscode2session 1');
    expect(text).toContain('p50 20.95, p95 32.56, p99 41.69');
    expect(text).toContain('stored session item: 273 bytes');
  });

  it('says so when answers reported no capacity or the session item was not found', () => {
    const base = result();
    const text = renderLoginCost(
      result({
        routes: {
          ...base.routes,
          sessions: {
            ...base.routes.sessions,
            dynamodb: { PutItem: { requests: 1, units: 0, unreported: 1, consistent: 0 } },
          },
        },
        session: undefined,
      }),
    );
    expect(text).toContain('(+1 answers without capacity)');
    expect(text).toContain('stored session item: not found');
  });
});
