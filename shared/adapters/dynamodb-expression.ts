/**
 * Hands out placeholders for attribute names and values, so the clauses of an update or a condition
 * can be written by name. One builder per expression set (one request, or one item of a transaction).
 */
export class ExpressionBuilder {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};

  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(label: string, value: unknown): string {
    const placeholder = `:${label}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** `#a IN (:v0, :v1, ...)`. */
  isIn(attribute: string, label: string, allowed: readonly unknown[]): string {
    const values = allowed.map((value, index) => this.value(`${label}${index}`, value));
    return `${this.name(attribute)} IN (${values.join(', ')})`;
  }

  attributes(): {
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ExpressionAttributeNames: this.names,
      // DynamoDB refuses an empty map of values.
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
