/** The tests' merchant endpoint is the bench's verifying receiver, with its scripting (500s, hangs, drops). */
export { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from '#bench/verifying-receiver';
