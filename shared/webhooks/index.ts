/** Standard Webhooks, the sending side: secrets, signatures and one delivery attempt. Node built-ins only. */
export * from './webhook-secret';
export * from './signature';
export * from './deliver';
