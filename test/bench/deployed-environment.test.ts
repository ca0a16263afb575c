import { describe, expect, it } from 'vitest';
import { deployedEnvironments, SERVICES } from '#bench/deployed-environment';
import { sdkModeOf, STACK_SDK_MODE, stackBundleOptions } from '#bench/bundle';
import { PAYMENT_BUNDLING } from '#infra/cdk/payment-function';
import { loadSettings } from '#shared/config/settings';

const environments = deployedEnvironments();

describe('deployedEnvironments', () => {
  it('reads every function the stack deploys, the webhooks one included', () => {
    expect(Object.keys(environments).sort()).toEqual([...SERVICES].sort());
  });

  it('resolves every reference to a value the handlers accept, so each bundle starts as deployed', () => {
    for (const [service, { variables }] of Object.entries(environments)) {
      for (const value of Object.values(variables)) expect(typeof value).toBe('string');
      const settings = loadSettings(variables);
      expect(settings.POWERTOOLS_SERVICE_NAME).toBe(service);
    }
    // The variables whose absence broke part 1 before: refunds need the notify URL, ending in /notify/pay.
    expect(environments.reconcile.variables.NOTIFY_URL).toMatch(/^https:\/\/.+\/notify\/pay$/);
    expect(environments.orders.variables.QUEUE_URL).toMatch(/^https:\/\/sqs\./);
    expect(environments.webhooks.variables.WEBHOOK_QUEUE_URL).toMatch(/\.fifo$/);
    expect(environments.sweep.memoryMb).toBe(256);
    expect(environments.orders.memoryMb).toBe(512);
  });
});

describe('the SDK mode the bench calls deployed', () => {
  it('follows the stack’s bundling options', () => {
    expect(sdkModeOf({ bundleAwsSDK: true })).toBe('bundled-sdk');
    expect(sdkModeOf({})).toBe('runtime-sdk');
    expect(STACK_SDK_MODE).toBe(sdkModeOf(PAYMENT_BUNDLING));
    expect(stackBundleOptions(STACK_SDK_MODE).external).toEqual([]);
  });
});
