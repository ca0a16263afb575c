/** The text of an HTTP event's body: API Gateway and Function URLs base64-encode what is not text. */
export function eventBody(event: { body?: string; isBase64Encoded: boolean }): string {
  if (event.body === undefined) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}
