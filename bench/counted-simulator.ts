import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { type RunningSimulator, startSimulator } from '#sandbox/simulator/server';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import { type CountingProxy, type CountingProxyOptions, startCountingProxy } from './counting-proxy';

/**
 * The simulator with a counting proxy in front of its HTTPS, for the cost benches: the handlers reach
 * WeChat over TLS as in production, so the proxy shows them a certificate of the simulator's own CA
 * (which they are told to trust) and presents the merchant's API client certificate to the simulator,
 * so mutual-TLS calls (/secapi/) are counted too. The caller closes the proxy, then the simulator.
 */
export interface CountedSimulator {
  simulator: RunningSimulator;
  /** Where the stack's WeChat base URLs point. */
  proxy: CountingProxy;
  /** The handler settings that trust the proxy and present the merchant's client certificate. */
  handlerEnv: Record<string, string>;
}

export async function startCountedSimulator(options: {
  classify: CountingProxyOptions['classify'];
  /** The simulator's time scale (WeChat's durations divided by it). */
  timeScale?: number;
}): Promise<CountedSimulator> {
  const ca = createCertificateAuthority({ commonName: 'bench simulator CA' });
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    merchant: SANDBOX_MERCHANT,
    ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
    tls: { caCertPem: ca.certPem, caKeyPem: ca.keyPem },
    log: () => undefined,
  });
  const client = { certPem: simulator.tls.clientCertPem, keyPem: simulator.tls.clientKeyPem };
  let proxy: CountingProxy;
  try {
    proxy = await startCountingProxy({
      upstream: simulator.httpsUrl,
      classify: options.classify,
      tls: {
        server: ca.issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' }),
        client,
        caPem: ca.certPem,
      },
    });
  } catch (error) {
    await simulator.close();
    throw error;
  }
  return {
    simulator,
    proxy,
    handlerEnv: {
      WECHATPAY_TRUSTED_CA: ca.certPem,
      WECHATPAY_API_CLIENT_CERT: client.certPem,
      WECHATPAY_API_CLIENT_KEY: client.keyPem,
    },
  };
}
