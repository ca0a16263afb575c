// Placeholder until the local DynamoDB and SQS servers are wired in.
export default function setup(): void {}
