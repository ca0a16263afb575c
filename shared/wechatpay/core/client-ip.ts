import * as z from 'zod';

/**
 * The payer's IP as WeChat takes it (v2 spbill_create_ip, v3 scene_info.payer_client_ip): a plain
 * IPv4 or IPv6 address, no zone id, no leading zeros. One rule for every caller, so an address a
 * merchant's API accepts is never one the request to WeChat refuses.
 */
export const clientIpSchema = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });

export function isClientIp(value: string): boolean {
  return clientIpSchema.safeParse(value).success;
}
