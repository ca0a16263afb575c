import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { refundStoreContract } from '#test/helpers/refund-store-contract';

// The same contract the DynamoDB store keeps on DynamoDB Local, so this double cannot drift from it.
refundStoreContract('InMemoryRefundStore', async () => {
  const orders = new InMemoryOrderStore();
  return { orders, refunds: new InMemoryRefundStore(orders) };
});
