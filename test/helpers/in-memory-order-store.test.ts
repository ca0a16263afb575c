import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { orderStoreContract } from '#test/helpers/order-store-contract';

// The unit tier's store keeps the contract the DynamoDB store keeps on DynamoDB Local.
orderStoreContract('InMemoryOrderStore', async () => new InMemoryOrderStore());
