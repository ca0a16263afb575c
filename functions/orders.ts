// Placeholder: replaced by the real handler wiring.
export const handler = async (): Promise<void> => {};
