import { defineConfig } from 'vitest/config';

/**
 * Two projects, told apart by FILE LOCATION (the globs below), not by file name:
 * - unit: pure logic, test doubles, at most an in-process loopback stand-in for WeChat. No globalSetup,
 *   so no Java, no DynamoDB Local, no SQS server, no child processes. `npm run test:unit`.
 * - integration: every other test file. DynamoDB Local and the SQS server start once per run (the
 *   globalSetup); each end-to-end file (test/e2e/) starts its own light gateway and simulator in-process
 *   against them. `npm run test:integration`.
 * A new test file is integration unless its path matches UNIT_TESTS; a file that needs the servers must
 * not match it (hence `!(sweeper)`: the sweep is tested over a real table and queue; and
 * `!(miniprogram-routes)`: those routes are tested against the simulator, a server it starts). The WeChat
 * clients' tests (loopback fake servers) and the ones that generate RSA keys run with the integration tier:
 * they took half the unit tier's time, whose job is to answer in seconds.
 */
/** Library tests that generate RSA keys or run TLS servers (by base name, in any folder of the library). */
const SLOW_LIBRARY_TESTS = [
  'client',
  'bill-client',
  'platform-certificates',
  'self-signed-certificate',
  'certificate-authority',
  'tls-fetch',
  'refund-notification',
];

const UNIT_TESTS = [
  'test/helpers/**/*.test.ts',
  'test/shared/domain/!(sweeper).test.ts',
  `test/shared/wechatpay/**/!(${SLOW_LIBRARY_TESTS.join('|')}).test.ts`,
  'test/shared/app/**/!(miniprogram-routes).test.ts',
  'test/shared/webhooks/**/*.test.ts',
  'test/shared/adapters/wechatpay-*.test.ts',
  'test/shared/adapters/eventbridge-event-bus.test.ts',
  'test/shared/adapters/session-key-seal.test.ts',
  'test/shared/adapters/wechat-user-data-opener.test.ts',
  'test/shared/adapters/dynamodb-order-item-plain-data.test.ts',
  'test/shared/config/settings.test.ts',
  'test/bench/**/*.test.ts',
  'test/infra/cdk/stack-settings.test.ts',
  'test/sandbox/local/lambda-events.test.ts',
  'test/sandbox/local/local-settings.test.ts',
  'test/sandbox/local/sigv4-verifier.test.ts',
  'test/shared/client/app-backend-client-answers.test.ts',
  'test/sandbox/simulator/miniprogram-minute-quota.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        // No file of the unit tier changes global state, so its files share workers and loaded modules:
        // the run is mostly module loading otherwise.
        test: { name: 'unit', include: UNIT_TESTS, pool: 'threads', isolate: false },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...UNIT_TESTS],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
