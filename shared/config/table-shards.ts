/**
 * How many partitions the orders table's hot keys spread over (see shared/adapters/table-schema.ts):
 * the settings check DUE_INDEX_SHARDS and NOTIFY_AUDIT_SHARDS against these, the DynamoDB adapter
 * writes and sweeps with them. Here, not in the adapter, so the settings depend on no adapter.
 */

/** How many shards the due index's writes spread over unless DUE_INDEX_SHARDS says otherwise. */
export const DEFAULT_DUE_INDEX_SHARDS = 8;
/**
 * The sweep reads every shard up to this ceiling whatever the configured count, so the count can be
 * changed either way without hiding an order written under the old one.
 */
export const MAX_DUE_INDEX_SHARDS = 32;
/** How many partitions the unmatched and the unverified notifications each spread over, by default. */
export const DEFAULT_NOTIFY_AUDIT_SHARDS = 16;
